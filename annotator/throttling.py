"""Login throttling: django-axes' backend, for logins that come with a request."""

from axes.backends import AxesStandaloneBackend


class LoginThrottleBackend(AxesStandaloneBackend):
    """Counts and refuses like axes for every login over HTTP (the login page and the admin
    pass their request). A call without a request (a shell, a test client's `login`) has no
    address to throttle and cannot be reached from the network, so it is left to the next
    backend instead of failing."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
