"""Deliverability for the email channel: DKIM, one-click unsubscribe, suppression.

``verify_unsubscribe_token`` is for the receiving side: the web endpoint behind the
``List-Unsubscribe`` URL. Importing this package loads neither dkimpy nor dnspython;
``DKIM`` imports them when a key is loaded (``pip install 'broadcast-crisis[dkim]'``).
"""

from __future__ import annotations

from ._dkim import DKIM
from ._suppression import Suppression
from ._unsubscribe import Unsubscribe, unsubscribe_token, verify_unsubscribe_token

__all__ = ["DKIM", "Suppression", "Unsubscribe", "unsubscribe_token", "verify_unsubscribe_token"]
