"""Logging in and out, setting passwords through single-use links, and the account page
(with the personal API tokens)."""

from __future__ import annotations

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from kb.extensions import db, limiter, login_manager
from kb.i18n import _, _l
from kb.models import ApiToken, Invitation, Role, User
from kb.models.token import NAME_MAX_LENGTH
from kb.services import accounts, invitations, tokens
from kb.web.access import current_account
from kb.web.manage_forms import ConfirmForm
from kb.web.urls import is_local_path

bp = Blueprint("auth", __name__)

LOGIN_LIMITS = "10 per minute;60 per hour"


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=320)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])
    next = HiddenField()


class ForgotForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=320)])


class SetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(max=256)],
        description=_l("At least 12 characters; a few words of your own make a good password."),
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )


class TokenForm(FlaskForm):
    name = StringField(
        _l("Name"),
        validators=[DataRequired(), Length(max=NAME_MAX_LENGTH)],
        description=_l("What the token is for, such as the system that will use it."),
    )


class RevokeTokenForm(FlaskForm):
    """Only the CSRF token: a POST that revokes a token."""


def _email_key() -> str:
    """Limit guesses per account too, not only per address they come from."""
    return "login:" + (request.form.get("email") or "").strip().lower()[:320]


def _start_session(user: User) -> None:
    """A fresh session on login, so nothing set before it (fixation) carries over."""
    session.clear()
    login_user(user)
    accounts.record_login(user)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMITS, methods=["POST"])
@limiter.limit(LOGIN_LIMITS, methods=["POST"], key_func=_email_key)
def login() -> ResponseReturnValue:
    form = LoginForm(next=request.args.get("next", ""))
    error = None
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data or "", form.password.data or "")
        if user is not None:
            _start_session(user)
            target = form.next.data
            return redirect(target if is_local_path(target) else _landing_page(user))
        error = _("The e-mail address or the password is wrong.")
    status = 401 if error else 200
    return render_template("auth/login.html", form=form, error=error), status


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    logout_user()
    session.clear()
    return redirect(url_for("public.home"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit("5 per minute;20 per hour", methods=["POST"])
def forgot_password() -> ResponseReturnValue:
    form = ForgotForm()
    sent = False
    if form.validate_on_submit():
        accounts.send_password_reset(form.email.data or "")
        sent = True
    return render_template("auth/forgot.html", form=form, sent=sent)


@bp.route("/password/set/<token>", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def set_password(token: str) -> ResponseReturnValue:
    try:
        user = accounts.user_for_link(token)
    except accounts.LinkInvalid as invalid:
        return render_template("auth/link_invalid.html", message=str(invalid)), 400
    form = SetPasswordForm()
    if form.validate_on_submit() and _new_password_saved(form, user):
        _start_session(user)
        return redirect(_landing_page(user))
    return render_template("auth/set_password.html", form=form, user=user)


def _landing_page(user: User) -> str:
    """Where a login leads without a ``next``: the work each role comes for."""
    if user.has_role(Role.EDITOR):
        return url_for("review.queue")
    return url_for("submission.mine")


def _new_password_saved(form: SetPasswordForm, user: User) -> bool:
    """Save the form's password, or put the policy's objection next to the field."""
    try:
        accounts.set_password(user, form.password.data or "")
    except accounts.PasswordRejected as rejected:
        form.password.errors = [*form.password.errors, str(rejected)]
        return False
    return True


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def invitation(token: str) -> ResponseReturnValue:
    """An invited speaker sets a password (if they have none yet) and is logged in; an
    existing account accepts with a button (a POST), never by merely opening the link."""
    try:
        found = invitations.invitation_for(token)
    except invitations.InvitationUsed as used:
        login_link = url_for("auth.login", next=_submission_url(used.invitation))
        return render_template(
            "auth/link_invalid.html", message=str(used), login_link=login_link
        ), 400
    except accounts.LinkInvalid as invalid:
        return render_template("auth/link_invalid.html", message=str(invalid)), 400
    user = found.user
    form = SetPasswordForm()
    case_form = _submission_url(found)
    if user.password_hash is None and form.validate_on_submit() and _new_password_saved(form, user):
        invitations.accept(found)
        _start_session(user)
        return redirect(case_form)
    if user.password_hash is not None:
        confirm = ConfirmForm()
        if confirm.validate_on_submit():
            invitations.accept(found)
            return redirect(url_for("auth.login", next=case_form))
        return render_template("auth/accept_invitation.html", form=confirm, invitation=found)
    return render_template("auth/set_password.html", form=form, user=user, invitation=found)


def _submission_url(invitation: Invitation) -> str:
    """The case form, already linked to the session (or event) of the invitation."""
    if invitation.session_id is not None:
        return url_for("submission.new", session=invitation.session_id)
    return url_for("submission.new", event=invitation.event_id)


@bp.get("/account")
@login_required
def account() -> ResponseReturnValue:
    return _account_page(TokenForm())


@bp.post("/account/tokens")
@login_required
# Tokens are few per person; a flood of them means a script or a stolen session.
@limiter.limit("20 per hour")
def create_token() -> ResponseReturnValue:
    """Create an API token and show its secret in this response, the only time it is shown.

    The secret goes into no session, flash message or redirect, and the page is not cached.
    """
    form = TokenForm()
    if form.validate_on_submit():
        try:
            token, secret = tokens.create_token(current_account(), form.name.data or "")
        except tokens.TokenRejected as rejected:
            form.name.errors = [*form.name.errors, str(rejected)]
        else:
            return _account_page(TokenForm(formdata=None), new_token=(token, secret))
    return _account_page(form, 422)


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int) -> ResponseReturnValue:
    token = tokens.find_token(token_id)
    # Someone else's token is "not found", so token ids tell nothing about other accounts.
    if token is None or token.user_id != current_user.id:
        abort(404)
    if not RevokeTokenForm().validate_on_submit():
        abort(400)
    tokens.revoke(token)
    flash(_("The token “%(name)s” has been revoked; it no longer gives access.", name=token.name))
    return redirect(url_for("auth.account", _anchor="api-tokens"))


def _account_page(
    token_form: TokenForm, status: int = 200, new_token: tuple[ApiToken, str] | None = None
) -> ResponseReturnValue:
    response = make_response(
        render_template(
            "auth/account.html",
            user=current_user,
            invitations=[(i, _submission_url(i)) for i in invitations.invitations_of(current_user)],
            tokens=tokens.tokens_of(current_user),
            token_form=token_form,
            new_token=new_token,
        ),
        status,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    """The session holds "id:token"; a changed token (new password) ends old sessions."""
    number, _sep, token = user_id.partition(":")
    if not number.isdigit():
        return None
    user = db.session.get(User, int(number))
    if user is None or not user.active or user.auth_token != token:
        return None
    return user


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.init_app(app)
    app.register_blueprint(bp)
