"""Corpus, utterances and their modality renditions.

Business rules live in `labeling.services` (writes) and `labeling.selectors` (reads);
models only hold data and database-level constraints.
"""

from django.conf import settings
from django.db import models

from labeling.statistics import transcript_words


class Modality(models.TextChoices):
    TEXT = "t", "text (transcript only)"
    AUDIO = "a", "audio only"
    VISION = "v", "vision (silent video)"
    MULTIMODAL = "m", "multimodal (original video)"


class Gender(models.TextChoices):
    FEMALE = "female", "female"
    MALE = "male", "male"


class AgeGroup(models.TextChoices):
    PRETEEN = "preteen", "preteen"
    TEEN = "teen", "teen"
    MIDDLE_AGE = "middle-age", "middle-age"
    OLD = "old", "old"


class ScreeningStatus(models.TextChoices):
    PENDING = "pending", "not measured yet"
    MEASURED = "measured", "measured"
    FAILED = "failed", "could not be measured"


class Corpus(models.Model):
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    is_synthetic = models.BooleanField(
        default=False, help_text="Generated demo data, not real recordings."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "corpora"

    def __str__(self) -> str:
        return f"{self.name} (synthetic)" if self.is_synthetic else self.name


class ImportBatch(models.Model):
    """One run of a manifest import: what was asked, what happened, row by row."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    corpus = models.ForeignKey(Corpus, on_delete=models.CASCADE, related_name="import_batches")
    manifest_name = models.CharField(max_length=500)
    manifest_sha256 = models.CharField(max_length=64, blank=True)
    media_root = models.CharField(max_length=1000, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Kind(models.TextChoices):
        CLIPS = "clips", "clips (one file per utterance)"
        SEGMENTS = "segments", "segments cut from episodes"

    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.CLIPS)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    rows_total = models.PositiveIntegerField(default=0)
    rows_checked = models.PositiveIntegerField(default=0, help_text="Progress while running.")
    rows_imported = models.PositiveIntegerField(default=0)
    rows_unchanged = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    rejected = models.JSONField(default=list, blank=True, help_text="[{line, reason}]")
    error = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "import batches"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.manifest_name} → {self.corpus.name} ({self.status})"


class UtteranceQuerySet(models.QuerySet):
    """Keeps `Utterance.words` with the transcript on the bulk paths too (save() does it
    for one), so no write can leave Table 1's word counts behind the transcripts."""

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        for utterance in objs:
            utterance.words = transcript_words(utterance.transcript)
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, fields, *args, **kwargs):
        objs, fields = list(objs), list(fields)
        if "transcript" in fields:
            for utterance in objs:
                utterance.words = transcript_words(utterance.transcript)
            fields = [*fields, "words"]
        return super().bulk_update(objs, fields, *args, **kwargs)

    def update(self, **kwargs):
        if "transcript" in kwargs and "words" not in kwargs:  # bulk_update passes both
            if not isinstance(kwargs["transcript"], str):
                raise TypeError("Set a transcript from a database expression with save().")
            kwargs["words"] = transcript_words(kwargs["transcript"])
        return super().update(**kwargs)


class Utterance(models.Model):
    corpus = models.ForeignKey(Corpus, on_delete=models.CASCADE, related_name="utterances")
    import_batch = models.ForeignKey(
        ImportBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="utterances"
    )
    external_id = models.CharField(
        max_length=200, blank=True, help_text="The manifest's own id for this utterance."
    )
    source_file = models.CharField(
        max_length=500, help_text="Stored copy of the source media, relative to MEDIA_ROOT."
    )
    original_name = models.CharField(
        max_length=1000, help_text="Media path as the manifest gave it."
    )
    transcript = models.TextField()
    words = models.PositiveIntegerField(
        null=True,
        blank=True,
        editable=False,
        help_text="Words of the transcript as Table 1 counts them; empty without one.",
    )
    duration_seconds = models.FloatField()
    frame_rate = models.FloatField(null=True, blank=True)
    speaker_gender = models.CharField(max_length=16, choices=Gender.choices, blank=True)
    age_group = models.CharField(max_length=16, choices=AgeGroup.choices, blank=True)
    programme = models.CharField(
        max_length=300, blank=True, help_text="Source TV series, show or film."
    )
    scenario = models.CharField(max_length=100, blank=True)
    content_hash = models.CharField(
        max_length=64,
        blank=True,
        help_text="SHA-256 of the source media bytes; empty for labels-only utterances.",
    )
    source_video = models.CharField(
        max_length=1000, blank=True, help_text="The episode this utterance was cut from."
    )
    source_video_hash = models.CharField(
        max_length=64, blank=True, help_text="SHA-256 of the episode; empty for whole clips."
    )
    segment_start = models.FloatField(
        null=True, blank=True, help_text="Seconds into the episode where the cut begins."
    )
    segment_end = models.FloatField(null=True, blank=True)
    screening_status = models.CharField(
        max_length=16,
        choices=ScreeningStatus.choices,
        default=ScreeningStatus.PENDING,
        help_text="Automatic screening measurements of the clip (a campaign judges them).",
    )
    screening = models.JSONField(
        default=dict, blank=True, help_text="What automatic screening measured in the clip."
    )
    screening_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = UtteranceQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["corpus", "source_video_hash", "segment_start", "segment_end"],
                condition=~models.Q(source_video_hash=""),
                name="utterance_unique_segment_per_corpus",
            ),
            models.UniqueConstraint(
                fields=["corpus", "content_hash"],
                condition=~models.Q(content_hash=""),
                name="utterance_unique_media_per_corpus",
            ),
            models.UniqueConstraint(
                fields=["corpus", "external_id"],
                condition=~models.Q(external_id=""),
                name="utterance_unique_external_id_per_corpus",
            ),
        ]
        ordering = ["id"]

    def __str__(self) -> str:
        return self.external_id or f"utterance {self.pk}"

    def save(self, *args, **kwargs):
        self.words = transcript_words(self.transcript)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "transcript" in update_fields:
            kwargs["update_fields"] = {*update_fields, "words"}
        super().save(*args, **kwargs)


class Rendition(models.Model):
    """What one modality's annotators are allowed to see of an utterance."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    utterance = models.ForeignKey(Utterance, on_delete=models.CASCADE, related_name="renditions")
    modality = models.CharField(max_length=1, choices=Modality.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    file = models.CharField(max_length=500, blank=True, help_text="Relative to MEDIA_ROOT.")
    content_type = models.CharField(max_length=100, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["utterance", "modality"], name="one_rendition_per_modality"
            )
        ]
        ordering = ["utterance_id", "modality"]

    def __str__(self) -> str:
        return f"{self.utterance} [{self.modality}] {self.status}"


class SyntheticTruth(models.Model):
    """Ground truth of a generated demo utterance: what each modality was made to express."""

    FIELD_OF_MODALITY = {
        "t": "text_emotion",
        "a": "voice_emotion",
        "v": "face_emotion",
        "m": "underlying",
    }

    utterance = models.OneToOneField(
        Utterance, on_delete=models.CASCADE, related_name="synthetic_truth"
    )
    underlying = models.CharField(max_length=32, help_text="The intended multimodal (m) emotion.")
    text_emotion = models.CharField(max_length=32)
    voice_emotion = models.CharField(max_length=32)
    face_emotion = models.CharField(max_length=32)
    seed = models.BigIntegerField()
    also = models.JSONField(
        default=dict,
        blank=True,
        help_text='Multi-label corpora: a second emotion per modality, {"t": "fear", ...}.',
    )

    def __str__(self) -> str:
        return f"synthetic truth of {self.utterance}"

    def emotions(self, modality: str) -> tuple[str, ...]:
        """Every emotion the modality was made to express: the first, and any second one."""
        second = self.also.get(modality, "")
        return (self.emotion(modality), second) if second else (self.emotion(modality),)

    def emotion(self, modality: str) -> str:
        """What the utterance was made to express in this modality (m: the underlying one)."""
        return getattr(self, self.FIELD_OF_MODALITY[modality])
