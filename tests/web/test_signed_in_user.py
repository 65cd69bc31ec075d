"""kiosk.authn.signed_in_user: the user a view behind ``require`` acts as."""

import pytest

from kiosk import auth
from kiosk.authn import signed_in_user


def test_the_caller_of_a_request_is_the_signed_in_user(app, keeper):
    token = auth.issue_token(keeper.id, label="test")
    with app.test_request_context("/", headers={"Authorization": f"Bearer {token}"}):
        assert signed_in_user().id == keeper.id


def test_a_request_nobody_signed_into_has_no_signed_in_user(app, keeper):
    # (only a view outside require() could ask: a programming error, not a refusal)
    with app.test_request_context("/"), pytest.raises(RuntimeError, match="require"):
        signed_in_user()
