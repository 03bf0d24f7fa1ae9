"""The one place that writes: the rules, the transactions and the cache invalidation.

The JSON API, the HTML forms and the CLI all come here, so a rule holds the
same way for each. Reads that more than one caller needs live here too. A
module a subject; callers use the names below (``services.create_problem``).
"""

from .accounts import (
    LiveToken,
    authenticate,
    change_password,
    clear_revoked_tokens,
    create_token,
    create_user,
    end_sessions,
    find_user,
    live_token,
    load_password,
    revoke_token,
    user_for_token,
)
from .idempotency import Answer, create_problem_once, idempotency_fingerprint
from .problems import (
    DUPLICATE_NAME,
    PROBLEM_NOT_FOUND,
    Precondition,
    can_edit,
    create_problem,
    delete_problem,
    get_problem,
    invalidate_problem,
    load_problem_fields,
    parse_problem_id,
    problem_stats,
    require_editor,
    search_problems,
    update_problem,
)
from .revalidation import clear_cache, revalidate
from .seeding import seed_problems
from .transactions import write_transaction

__all__ = [
    "DUPLICATE_NAME",
    "PROBLEM_NOT_FOUND",
    "Answer",
    "LiveToken",
    "Precondition",
    "authenticate",
    "can_edit",
    "change_password",
    "clear_cache",
    "clear_revoked_tokens",
    "create_problem",
    "create_problem_once",
    "create_token",
    "create_user",
    "delete_problem",
    "end_sessions",
    "find_user",
    "get_problem",
    "idempotency_fingerprint",
    "invalidate_problem",
    "live_token",
    "load_password",
    "load_problem_fields",
    "parse_problem_id",
    "problem_stats",
    "require_editor",
    "revalidate",
    "revoke_token",
    "search_problems",
    "seed_problems",
    "update_problem",
    "user_for_token",
    "write_transaction",
]
