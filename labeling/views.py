from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404
from django.shortcuts import get_object_or_404, render

from labeling.http import private_file_response
from labeling.models import Rendition
from labeling.selectors.corpora import corpus_overview
from labeling.storage import media_path


def home(request):
    corpora = corpus_overview() if request.user.is_staff else []
    return render(request, "home.html", {"corpora": corpora})


@staff_member_required
def rendition_file(request, rendition_id: int):
    """A rendition's file, for staff previews. Annotators get media through their lease."""
    rendition = get_object_or_404(Rendition, pk=rendition_id, status=Rendition.Status.DONE)
    path = media_path(rendition.file)
    if not path.is_file():
        raise Http404("The rendition file is missing; retry the rendition in the admin.")
    return private_file_response(request, path, rendition.content_type)
