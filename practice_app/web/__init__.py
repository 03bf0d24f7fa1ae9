"""The HTML blueprint: pages and form actions (Next.js's server actions), a module a feature.

Every action is a POST with a CSRF token (``CSRFProtect`` checks it before any
view runs). Forms check shape, ``services`` checks the rules; success flashes
and answers 303 to the page that shows the result; invalid input answers 422
with the form again. Pages read the signed-in user, so ``caching`` sees them
read the request and never stores them (they carry CSRF tokens and flashes).

``problems``, ``accounts`` and ``compare`` add their views to the one
blueprint (``blueprint.bp``), ``filters`` its template filters, as they are
imported here.
"""

from . import accounts, compare, filters, problems
from .blueprint import bp

__all__ = ["accounts", "bp", "compare", "filters", "problems"]
