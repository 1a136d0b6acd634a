"""``meta=userinfo`` (ApiQueryUserInfo): who the caller is, as the OAuth signature says.

``uiprop`` served: ``blockinfo``, ``hasmsg``, ``groups``, ``rights``, ``editcount``,
``ratelimits``, ``registrationdate``; the others draw a warning, as the stand-in does for any
module it does not serve. Keys come in ApiQueryUserInfo's order. ``messages`` (hasmsg) is a
boolean: formatversion 1 leaves it out when false, which is how mwclient reads it.
"""

from __future__ import annotations

from typing import Any

from fakecommons.context import ApiContext
from fakecommons.world import User

SERVED = ("blockinfo", "hasmsg", "groups", "rights", "editcount", "ratelimits", "registrationdate")
# The rights each group grants on Commons, a subset of wmf-config's $wgGroupPermissions.
GROUP_RIGHTS = {
    "*": (
        "createaccount", "read", "edit", "createpage", "createtalk", "writeapi",
        "viewmywatchlist", "editmywatchlist", "viewmyprivateinfo", "editmyprivateinfo",
        "editmyoptions",
    ),
    "user": (
        "move", "move-subpages", "move-categorypages", "movefile", "upload", "reupload",
        "reupload-shared", "minoredit", "purge", "applychangetags", "changetags",
        "editcontentmodel",
    ),
    "autoconfirmed": ("autoconfirmed", "editsemiprotected", "skipcaptcha"),
    "bot": (
        "bot", "autoconfirmed", "editsemiprotected", "nominornewtalk", "autopatrol",
        "suppressredirect", "apihighlimits", "noratelimit", "skipcaptcha",
    ),
}  # fmt: skip
BLOCK_ID = 9_000_001
BLOCKED_AT = "2025-01-01T00:00:00Z"


def userinfo(ctx: ApiContext) -> dict[str, Any]:
    props = dict.fromkeys(ctx.params.multi("uiprop"))
    for prop in props:
        if prop not in SERVED:
            ctx.warn("userinfo", f'Unrecognized value for parameter "uiprop": {prop}')
    user = ctx.user
    info: dict[str, Any] = {
        "id": user.id if user else 0,
        "name": user.name if user else "127.0.0.1",
    }
    if user is None:
        info["anon"] = ctx.fmt.flag()
    if "blockinfo" in props and user is not None and user.blocked:
        info.update(ctx.fmt.bools(_block(user)))
    if "hasmsg" in props:
        info.update(ctx.fmt.bools({"messages": False}))
    groups = list(user.groups) if user else ["*"]
    if "groups" in props:
        info["groups"] = groups
    if "rights" in props:
        info["rights"] = list(dict.fromkeys(r for g in groups for r in GROUP_RIGHTS.get(g, ())))
    if "editcount" in props and user:
        info["editcount"] = user.editcount
    if "ratelimits" in props:
        info["ratelimits"] = _ratelimits(user is not None)
    if "registrationdate" in props and user:
        info["registrationdate"] = _iso(user.registered)
    return info


def _block(user: User) -> dict[str, Any]:
    """ApiBlockInfoTrait::getBlockDetails of a sitewide, indefinite block by an admin."""
    return {
        "blockid": BLOCK_ID + user.id,
        "blockedby": "Commons Admin",
        "blockedbyid": 1,
        "blockreason": "Disruptive editing",
        "blockedtimestamp": BLOCKED_AT,
        "blockexpiry": "infinite",
        "blocknocreate": True,
        "blockpartial": False,
        "blockanononly": False,
        "blockemail": False,
        "blockowntalk": False,
    }


def _ratelimits(logged_in: bool) -> dict[str, Any]:
    # Commons' edit limits (wmf-config InitialiseSettings.php, +commonswiki).
    edit = (
        {"user": {"hits": 900, "seconds": 180}}
        if logged_in
        else {"ip": {"hits": 120, "seconds": 900}}
    )
    return {"edit": edit}


def _iso(stamp: str) -> str:
    return f"{stamp[0:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[8:10]}:{stamp[10:12]}:{stamp[12:14]}Z"
