"""Sign-in and sign-out with the users of the controls and their passwords."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.urls import path

from billguard.web.forms import PageForm


class SignInForm(AuthenticationForm, PageForm):
    error_messages = {
        "invalid_login": "The user name or the password is wrong; both are case-sensitive. "
        "If you forgot the password, ask an administrator to set a new one.",
        "inactive": "This user is deactivated. Ask an administrator to reactivate it.",
    }


class SignInView(auth_views.LoginView):
    template_name = "web/sign_in.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True


urlpatterns = [
    path("sign-in/", SignInView.as_view(), name="sign-in"),
    path("sign-out/", auth_views.LogoutView.as_view(), name="sign-out"),
]
