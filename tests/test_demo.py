from __future__ import annotations

import io

from broadcast.demo import main
from broadcast.testing import fast_retries


def test_demo_delivers_and_verifies() -> None:
    """make demo's job delivers the outage update, verifies the signature and exits 0."""
    out = io.StringIO()
    status = main(out, retry=fast_retries())
    text = out.getvalue()
    assert status == 0, text
    assert "Broadcasting: PlayStation Network is down; we are investigating" in text
    assert "by Head of Network Operations; next update by" in text
    row = next(line for line in text.splitlines() if line.startswith("webhook "))
    assert row.split()[1:3] == ["delivered", "2"]
    assert "-> 4 delivered, 1 partial" in text
    assert "sms: OK" in text
    assert "refused, 21610 (replied STOP)" in text
    again = text.split("The same update sent again", 1)[1].split("On the receiving side", 1)[0]
    assert again.count("skipped (already delivered)") == 4
    assert "sms: partial (3 already had it, nothing sent twice;" in again
    assert "facebook: OK" in text
    assert "answers: 400, 200 (400 = throttled, code 4)" in text
    assert "twitter: OK" in text
    assert text.count("OAuth signature verified") == 2
    assert "(reply to nothing: starts the incident)" in text
    assert text.count("signature verified, answered") == 2
    assert "webhook: OK" in text
    email = next(line for line in text.splitlines() if line.startswith("email "))
    assert email.split()[1:5] == ["delivered", "1", email.split()[3], "4"]
    assert "email: OK" in text
    assert text.count("(multipart/alternative: plain+html; thread <incident.psn-2011-04@") == 4
