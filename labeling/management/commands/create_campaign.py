"""manage.py create_campaign --corpus NAME --name NAME [--modalities tavm] [--preset cherma |
--labels name:key,...] [--mode single-label | multi-label [--allow-none]
[--undecided discard | mark]] [--rule 3/3/4] [--no-independence-guard] [--lease-seconds N]
[--annotators u1,u2] [--annotator-group annotator]"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError

from labeling.emotions import LABEL_PRESETS, preset_labels
from labeling.models import Campaign, Corpus, TrainingRun
from labeling.roles import ROLES
from labeling.services.campaigns import CampaignInvalid, create_campaign
from labeling.verdicts import VotingRule

PRESETS = ", ".join(f"{name} ({title})" for name, (title, _) in LABEL_PRESETS.items())


class Command(BaseCommand):
    help = (
        "Create a campaign over a corpus, with a job for every utterance and modality, "
        "through the same service as the admin; prints a warning when its pool is too small "
        "for its voting rule."
    )

    def add_arguments(self, parser):
        parser.add_argument("--corpus", required=True, help="Corpus name.")
        parser.add_argument("--name", required=True, help="The new campaign's name.")
        parser.add_argument("--modalities", default="tavm", help="Any of t, a, v, m (tavm).")
        labels = parser.add_mutually_exclusive_group()
        labels.add_argument("--preset", help=f"A label set by name: {PRESETS}. Default cherma.")
        labels.add_argument(
            "--labels", help='Labels in key order: "positive:1,negative:2" (name:key,...).'
        )
        parser.add_argument(
            "--mode",
            choices=Campaign.LabelMode.values,
            default=Campaign.LabelMode.SINGLE,
            help="single-label (choose one, default) or multi-label (choose all that apply; "
            "each emotion decided by the rule).",
        )
        parser.add_argument(
            "--allow-none",
            action="store_true",
            help='Multi-label: "none of these" is an answer.',
        )
        parser.add_argument(
            "--undecided",
            choices=Campaign.UndecidedPolicy.values,
            default=Campaign.UndecidedPolicy.DISCARD,
            help="Multi-label: an emotion ending 2:2 discards its item (discard, default) or "
            "is marked undecided alone (mark).",
        )
        parser.add_argument(
            "--rule",
            default="3/3/4",
            help="initial votes / votes a label needs / most votes a job may get (3/3/4).",
        )
        parser.add_argument("--no-independence-guard", action="store_true")
        parser.add_argument("--lease-seconds", type=int, default=600)
        parser.add_argument("--annotators", default="", help="Usernames: u1,u2,...")
        parser.add_argument(
            "--order",
            default=Campaign.JobOrder.SHUFFLED,
            choices=Campaign.JobOrder.values,
            help="Job order (default shuffled); uncertainty and disagreement need "
            "--assistant-run; utterances ranks by it when given (whole utterances in "
            "shuffled order before).",
        )
        parser.add_argument(
            "--assistant-run",
            type=int,
            help="Id of the training run whose predictions order jobs and assist review.",
        )
        parser.add_argument(
            "--annotator-group", default="", help="Every member of this group joins the pool."
        )

    def handle(self, *args, **options):
        corpus = Corpus.objects.filter(name=options["corpus"]).first()
        if corpus is None:
            known = ", ".join(Corpus.objects.order_by("name").values_list("name", flat=True))
            raise CommandError(
                f"No corpus named {options['corpus']!r}; import it first"
                + (f" or use one of: {known}." if known else ".")
            )
        if Campaign.objects.filter(name=options["name"]).exists():
            raise CommandError(f"A campaign named {options['name']!r} exists; choose another name.")
        assistant = None
        if options["assistant_run"] is not None:
            assistant = TrainingRun.objects.filter(pk=options["assistant_run"]).first()
            if assistant is None:
                raise CommandError(f"No training run {options['assistant_run']}; see /runs/.")
        try:
            campaign = create_campaign(
                name=options["name"],
                corpus=corpus,
                annotators=pool(options["annotators"], options["annotator_group"]),
                labels=labels(options["preset"], options["labels"]),
                modalities=modalities(options["modalities"]),
                label_mode=options["mode"],
                allow_none=options["allow_none"],
                undecided_policy=options["undecided"],
                rule=rule(options["rule"]),
                lease_seconds=options["lease_seconds"],
                independence_guard=not options["no_independence_guard"],
                job_order=options["order"],
                assistant_run=assistant,
            )
        except (CampaignInvalid, IntegrityError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Created campaign {campaign.name!r} (id {campaign.pk}, {campaign.label_mode}) "
            f"over {corpus.name}: "
            f"{campaign.jobs.count()} jobs in {campaign.modalities}, rule "
            f"{campaign.initial_votes}/{campaign.agreement}/{campaign.max_votes}, "
            f"{campaign.annotators.count()} annotators, independence guard "
            f"{'on' if campaign.independence_guard else 'off'}, jobs {campaign.job_order}."
        )
        for warning in campaign.warnings:
            self.stderr.write(self.style.WARNING(f"Warning: {warning}"))


def labels(preset: str | None, spec: str | None) -> list[dict]:
    if spec:
        pairs = [item.rsplit(":", 1) for item in spec.split(",") if item.strip()]
        if any(len(pair) != 2 for pair in pairs):
            raise CommandError('Give --labels as name:key pairs, e.g. "positive:1,negative:2".')
        return [{"name": name.strip(), "key": key.strip()} for name, key in pairs]
    preset = preset or "cherma"
    if preset not in LABEL_PRESETS:
        raise CommandError(f"No label preset {preset!r}; use one of {PRESETS}, or --labels.")
    return preset_labels(preset)


def modalities(value: str) -> str:
    unknown = sorted(set(value) - set("tavm"))
    if unknown:
        raise CommandError(
            f"Unknown modalities {''.join(unknown)!r}; use any of t, a, v, m (e.g. tavm)."
        )
    return value


def rule(value: str) -> VotingRule:
    parts = value.split("/")
    if len(parts) != 3 or not all(p.strip().isdigit() for p in parts):
        raise CommandError(f"Give --rule as initial/agreement/max, e.g. 3/3/4 (not {value!r}).")
    try:
        return VotingRule(*(int(p) for p in parts))
    except ValueError as exc:
        raise CommandError(f"Rule {value}: {exc}.") from exc


def pool(usernames: str, group_name: str) -> list:
    users = get_user_model().objects
    names = [u.strip() for u in usernames.split(",") if u.strip()]
    found = list(users.filter(username__in=names))
    missing = sorted(set(names) - {u.username for u in found})
    if missing:
        raise CommandError(
            f"No user {', '.join(map(repr, missing))}; create them first (manage.py "
            "createsuperuser or the admin's Users page) or leave them out."
        )
    if group_name:
        group = Group.objects.filter(name=group_name).first()
        if group is None:
            raise CommandError(f"No group {group_name!r}; the roles are {', '.join(ROLES)}.")
        found += [u for u in users.filter(groups=group) if u not in found]
    return found
