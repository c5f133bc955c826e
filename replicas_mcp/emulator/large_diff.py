"""A synthetic multi-megabyte branch diff for the `large-diff` replica.

Each file's hunks are laid out from a plan (how long the file is, where its
edits sit, how many lines each removes and adds) instead of diffing two texts,
so about 3 MB of `git diff` output takes well under a second to build and every
hunk header is right by construction. Lines are drawn from code-like templates
by a hash of the path and line number, so the text is the same in every run.

No planned path is a file of the seeded repositories, so a turn on the replica
only appends its own file diffs after these.
"""

import functools
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from .diffs import DiffStat, blob_id

Change = Literal["modify", "add", "delete"]
LineMaker = Callable[[int, int, int], str]
"""`(file seed, line number, variant) -> line`; variant 1 is an edited line."""

_FILE_MODE = "100644"
_CONTEXT = 3
# Unchanged lines between two edits beyond which git keeps separate hunks.
_MERGE_GAP = 2 * _CONTEXT

_NOUNS = (
    "invoice",
    "customer",
    "payment",
    "session",
    "order",
    "report",
    "plan",
    "account",
    "refund",
    "coupon",
    "ledger",
    "webhook",
    "tenant",
    "seat",
    "quote",
    "receipt",
)
_VERBS = (
    "load",
    "fetch",
    "build",
    "render",
    "validate",
    "format",
    "sync",
    "apply",
    "resolve",
    "compute",
    "merge",
    "track",
)
_FIELDS = (
    "total",
    "status",
    "currency",
    "owner",
    "discount",
    "region",
    "balance",
    "deadline",
)
_KINDS = ("Table", "Row", "Form", "Summary", "Dialog", "Badge", "Filter", "Page")
_PACKAGES = (
    "react-query",
    "zod",
    "date-fns",
    "clsx",
    "msw",
    "vitest",
    "esbuild",
    "rollup",
    "postcss",
    "tailwindcss",
    "eslint-plugin-react",
    "@types/node",
    "@vitejs/plugin-react",
    "typescript",
    "prettier",
    "lodash-es",
)

_TS_BODY = (
    "  const {noun}{Field} = {noun}.{field} ?? defaults.{field};",
    '  if (!{noun}.{field}) return {{ ok: false, reason: "no {field}" }};',
    "  const sum = items.reduce((acc, item) => acc + item.{field}, {n});",
    "  const response = await client.get<{Noun}[]>(`/v1/{noun}s?limit={n}`);",
    "  // Sort {noun}s by {field} so the table keeps its order on refresh.",
    "  useEffect(() => {{ void {verb}{Noun}s({n}); }}, [{noun}Id]);",
)
_TS_BLOCKS = (
    (
        (
            "export function {verb}{Noun}({noun}: {Noun}, options = {{}}) {{",
            "export async function {verb}{Noun}s(client: ApiClient, limit = {n}) {{",
        ),
        *([_TS_BODY] * 5),
        (
            "  return {{ ...{noun}, {field}: {verb}{Noun}Value({noun}.{field}) }};",
            "  return response.data.filter((item) => item.{field} !== undefined);",
        ),
        ("}}",),
        ("",),
    ),
    (
        ("export function {Noun}{kind}({{ {noun}, onChange }}: {Noun}{kind}Props) {{",),
        (
            "  const [{field}, set{Field}] = useState({n});",
            "  const {{ data: {noun}s }} = use{Noun}Query({{ limit: {n} }});",
        ),
        _TS_BODY,
        _TS_BODY,
        ("  return (",),
        (
            "    <{Noun}{kind} key={{{noun}.id}} {noun}={{{noun}}}"
            " onChange={{onChange}} />",
        ),
        ("  );",),
        ("}}",),
        ("",),
    ),
)
"""Code blocks of nine lines; each row picks one of its templates."""

_PY_BODY = (
    "    {noun}_{field} = {noun}.{field} or defaults.{field}",
    "    {field} = {noun}.{field} if {noun}.{field} is not None else {n}",
    "    subtotal = sum(item.{field} for item in {noun}.line_items)",
    "    rows = await session.execute(select({Noun}).limit({n}))",
    "    # Keep {noun}s ordered by {field} so pagination stays stable.",
    '    logger.info("{verb} {noun} %s", {noun}.id)',
)
_PY_FIELD = (
    '    {field}: int | None = Field(default=None, description="{Noun} {field}")',
    '    {field}_code: str = Field(default="", max_length={n})',
    "    {field}_at: datetime | None = None",
)
_PY_BLOCKS = (
    (
        (
            "def {verb}_{noun}({noun}: {Noun}, *, limit: int = {n}) -> {Noun}{kind}:",
            "async def {verb}_{noun}s(session: AsyncSession) -> list[{Noun}]:",
        ),
        *([_PY_BODY] * 5),
        (
            "    return {Noun}{kind}.model_validate({noun}, from_attributes=True)",
            "    return [{verb}_{noun}(row) for row in rows.scalars()]",
        ),
        ("",),
    ),
    (
        ("class {Noun}{kind}(BaseModel):",),
        ('    """A {noun} as the API returns it, keyed by {field}."""',),
        *([_PY_FIELD] * 4),
        ("    model_config = ConfigDict(frozen=True)",),
        ("",),
    ),
)
"""Code blocks of eight lines; each row picks one of its templates."""


def _mix(a: int, b: int = 0, c: int = 0) -> int:
    """Scramble up to three integers into a well-spread 32-bit value."""
    x = (a * 0x9E3779B1 ^ b * 0x85EBCA77 ^ c * 0xC2B2AE3D) & 0xFFFFFFFF
    x = ((x ^ (x >> 16)) * 0x45D9F3B) & 0xFFFFFFFF
    return x ^ (x >> 16)


def _path_seed(path: str) -> int:
    return zlib.crc32(path.encode())


def _block_line(blocks: tuple[tuple[tuple[str, ...], ...], ...]) -> LineMaker:
    """Make a line maker that lays a file out as blocks (functions, classes).

    The block and row decide a line's shape; an edit (variant 1) keeps the
    shape and changes the names in it, like a rename or a changed argument.
    """
    size = len(blocks[0])

    def make(seed: int, number: int, variant: int) -> str:
        block, row = divmod(number - 1, size)
        names = _mix(seed, block, variant)
        choices = blocks[_mix(seed, block) % len(blocks)][row]
        shape = _mix(seed, number)
        details = _mix(shape, variant)
        noun = _NOUNS[names % len(_NOUNS)]
        field = _FIELDS[details % len(_FIELDS)]
        return choices[shape % len(choices)].format(
            noun=noun,
            Noun=noun.capitalize(),
            verb=_VERBS[(names >> 8) % len(_VERBS)],
            kind=_KINDS[(names >> 12) % len(_KINDS)],
            field=field,
            Field=field.capitalize(),
            n=(details >> 8) % 500,
        )

    return make


_LOCK_ENTRY_ROWS = 7
_LOCK_FIXED_ROWS = ('      "dev": true,', '      "license": "MIT"', "    },")


def _lock_line(seed: int, number: int, variant: int) -> str:
    """Lines of a `package-lock.json` entry; an edit bumps the version."""
    entry, row = divmod(number - 1, _LOCK_ENTRY_ROWS)
    package = _PACKAGES[entry % len(_PACKAGES)]
    if row == 0:
        return f'    "node_modules/{package}-{entry}": {{'
    if row > 3:
        return _LOCK_FIXED_ROWS[row - 4]

    bits = _mix(seed, entry, variant)
    version = f"{bits % 9}.{(bits >> 4) % 40}.{(bits >> 10) % 30}"
    if row == 1:
        return f'      "version": "{version}",'
    if row == 2:
        tarball = package.rsplit("/", 1)[-1]
        url = f"https://registry.npmjs.org/{package}/-/{tarball}-{version}.tgz"
        return f'      "resolved": "{url}",'
    digest = "".join(f"{_mix(bits, k):08x}" for k in range(4))
    return f'      "integrity": "sha512-{digest}",'


def _graphql_line(seed: int, number: int, variant: int) -> str:
    """Lines of generated GraphQL TypeScript types."""
    entry, row = divmod(number - 1, 5)
    name = _NOUNS[entry % len(_NOUNS)].capitalize()
    name += _KINDS[(entry // len(_NOUNS)) % len(_KINDS)] + str(entry)
    field = _FIELDS[_mix(seed, entry, variant) % len(_FIELDS)]
    rows = (
        f"export type {name} = {{",
        f'  __typename?: "{name}";',
        f'  {field}: Scalars["String"]["output"];',
        f"  {field}History?: Maybe<Array<{name}Edge>>;",
        "};",
    )
    return rows[row]


@dataclass(frozen=True)
class _Style:
    make: LineMaker
    block_size: int | None = None
    """Lines per code block; each block's first line is the only one that
    starts with a letter, i.e. what git shows as a hunk's heading."""


_STYLES = {
    "ts": _Style(_block_line(_TS_BLOCKS), len(_TS_BLOCKS[0])),
    "py": _Style(_block_line(_PY_BLOCKS), len(_PY_BLOCKS[0])),
    "lock": _Style(_lock_line),
    "gql": _Style(_graphql_line),
}


@dataclass(frozen=True)
class FilePlan:
    """One file of the diff: what happens to it and how big the change is."""

    path: str
    style: str
    change: Change
    length: int
    """Lines of the old file (modify, delete) or of the new file (add)."""
    hunks: int = 1
    max_run: int = 1
    """Most lines one hunk removes, and most it adds."""


@dataclass(frozen=True)
class BranchDiff:
    """A repository's synthetic branch diff with its counts."""

    text: str
    stat: DiffStat
    files: int


@dataclass(frozen=True)
class _Edit:
    start: int
    """First removed old line, or the old line the additions go before."""
    removed: int
    added: int


def _edits(seed: int, plan: FilePlan) -> list[_Edit]:
    """Spread the plan's edits evenly, far enough apart to stay separate hunks."""
    region = plan.length // plan.hunks
    edits: list[_Edit] = []
    for index in range(plan.hunks):
        bits = _mix(seed, index, 7)
        removed = bits % (plan.max_run + 1)
        added = (bits >> 8) % (plan.max_run + 1)
        if removed == added == 0:
            added = 1

        # Context before, the edit, context after, and a margin to the next hunk.
        removed = min(removed, region - 2 * _CONTEXT - _MERGE_GAP)
        room = region - removed - 2 * _CONTEXT - 1
        start = index * region + _CONTEXT + 1 + (bits >> 16) % room
        edits.append(_Edit(start, removed, added))
    return edits


def _count(start: int, length: int) -> str:
    # git leaves a count of 1 out of hunk headers.
    return str(start) if length == 1 else f"{start},{length}"


def _heading(style: _Style, seed: int, first_line: int) -> str:
    """Return git's hunk heading: the nearest earlier line that opens a block."""
    size = style.block_size
    if size is None or first_line < 2:
        return ""

    opener = (first_line - 2) // size * size + 1
    return " " + style.make(seed, opener, 0)


def _modified_file(plan: FilePlan) -> tuple[list[str], DiffStat]:
    style = _STYLES[plan.style]
    make = style.make
    seed = _path_seed(plan.path)
    # Modified files get made-up blob ids: neither side's full text is built.
    out = [
        f"diff --git a/{plan.path} b/{plan.path}",
        f"index {blob_id(plan.path + '@main')}..{blob_id(plan.path)} {_FILE_MODE}",
        f"--- a/{plan.path}",
        f"+++ b/{plan.path}",
    ]
    added = removed = shift = 0
    for edit in _edits(seed, plan):
        first = edit.start - _CONTEXT
        old_count = edit.removed + 2 * _CONTEXT
        new_count = edit.added + 2 * _CONTEXT
        out.append(
            f"@@ -{first},{old_count} +{first + shift},{new_count} @@"
            + _heading(style, seed, first)
        )
        out += [" " + make(seed, n, 0) for n in range(first, edit.start)]
        gone = range(edit.start, edit.start + edit.removed)
        out += ["-" + make(seed, n, 0) for n in gone]
        # Replacement lines keep the shape of the lines they replace.
        out += ["+" + make(seed, edit.start + k, 1) for k in range(edit.added)]
        after = edit.start + edit.removed
        out += [" " + make(seed, n, 0) for n in range(after, after + _CONTEXT)]

        added += edit.added
        removed += edit.removed
        shift += edit.added - edit.removed
    return out, DiffStat(added, removed)


def _whole_file(plan: FilePlan) -> tuple[list[str], DiffStat]:
    make = _STYLES[plan.style].make
    seed = _path_seed(plan.path)
    lines = [make(seed, n, 0) for n in range(1, plan.length + 1)]
    blob = blob_id("".join(line + "\n" for line in lines))
    if plan.change == "add":
        header = [
            f"diff --git a/{plan.path} b/{plan.path}",
            f"new file mode {_FILE_MODE}",
            f"index 0000000..{blob}",
            "--- /dev/null",
            f"+++ b/{plan.path}",
            f"@@ -0,0 +{_count(1, plan.length)} @@",
        ]
        return header + ["+" + line for line in lines], DiffStat(plan.length, 0)

    header = [
        f"diff --git a/{plan.path} b/{plan.path}",
        f"deleted file mode {_FILE_MODE}",
        f"index {blob}..0000000",
        f"--- a/{plan.path}",
        "+++ /dev/null",
        f"@@ -{_count(1, plan.length)} +0,0 @@",
    ]
    return header + ["-" + line for line in lines], DiffStat(0, plan.length)


def _sized_plan(path: str, style: str) -> FilePlan:
    """Give an ordinary file a size tier: mostly tiny and small, a few large."""
    bits = _mix(_path_seed(path), 99)
    tier = bits % 100
    spread = bits >> 8
    if tier < 35:
        return FilePlan(path, style, "modify", 20 + spread % 60)
    if tier < 80:
        length = 60 + spread % 340
        return FilePlan(path, style, "modify", length, 1 + spread % 3, 6)
    if tier < 97:
        length = 300 + spread % 1200
        return FilePlan(path, style, "modify", length, 3 + spread % 8, 16)
    return FilePlan(path, style, "modify", 2000 + spread % 3000, 15 + spread % 25, 30)


_WEB_FEATURES = (
    "billing",
    "checkout",
    "auth",
    "search",
    "settings",
    "reports",
    "notifications",
    "onboarding",
    "admin",
    "analytics",
    "inbox",
    "teams",
)
_WEB_COMPONENTS = ("Page", "Table", "Row", "Form", "Dialog", "Summary", "Toolbar")
_UI_PARTS = ("Button", "Card", "Modal", "Tabs", "Tooltip", "Select", "Spinner")
_API_PACKAGES = (
    "invoices",
    "payments",
    "customers",
    "subscriptions",
    "webhooks",
    "reports",
    "sessions",
    "search",
    "teams",
    "notifications",
)
_API_MODULES = ("router", "service", "models", "schemas", "repository", "errors")


def _web_plans() -> list[FilePlan]:
    plans: list[FilePlan] = []
    for feature in _WEB_FEATURES:
        name = feature.capitalize()
        base = f"src/features/{feature}"
        paths = [f"{base}/api.ts", f"{base}/types.ts", f"{base}/index.ts"]
        paths += [f"{base}/hooks/use{name}{kind}.ts" for kind in _KINDS[:3]]
        paths += [f"{base}/components/{name}{c}.tsx" for c in _WEB_COMPONENTS]
        paths += [f"{base}/__tests__/{name}{c}.test.tsx" for c in _WEB_COMPONENTS]
        plans += [_sized_plan(path, "ts") for path in paths]
    plans += [_sized_plan(f"src/components/ui/{p}.tsx", "ts") for p in _UI_PARTS]

    v2 = "src/features/billing/v2"
    plans += [
        FilePlan("package-lock.json", "lock", "modify", 70_000, 1000, 3),
        FilePlan(
            "src/features/billing/invoiceRules.ts", "ts", "modify", 7_000, 100, 30
        ),
        FilePlan("src/generated/graphql.ts", "gql", "add", 16_000),
        FilePlan("src/legacy/LegacyInvoiceTable.tsx", "ts", "delete", 420),
        FilePlan("src/legacy/formatLegacyInvoice.ts", "ts", "delete", 90),
        FilePlan(f"{v2}/InvoiceV2Page.tsx", "ts", "add", 260),
        FilePlan(f"{v2}/invoiceV2Api.ts", "ts", "add", 140),
        FilePlan(f"{v2}/index.ts", "ts", "add", 1),
    ]
    return plans


def _api_plans() -> list[FilePlan]:
    plans: list[FilePlan] = []
    for package in _API_PACKAGES:
        paths = [f"app/{package}/__init__.py"]
        paths += [f"app/{package}/{module}.py" for module in _API_MODULES]
        paths += [f"tests/{package}/test_{m}.py" for m in _API_MODULES[:4]]
        plans += [_sized_plan(path, "py") for path in paths]

    plans += [
        FilePlan("app/migrations/versions/0042_invoices_v2.py", "py", "add", 8_000),
        FilePlan("app/invoices/rules.py", "py", "modify", 6_000, 90, 30),
        FilePlan("app/invoices/legacy.py", "py", "delete", 310),
        FilePlan("app/invoices/v2.py", "py", "add", 380),
        FilePlan("tests/invoices/test_v2.py", "py", "add", 220),
    ]
    return plans


_PLANS: dict[str, Callable[[], list[FilePlan]]] = {
    "web": _web_plans,
    "api": _api_plans,
}
REPOSITORIES = tuple(_PLANS)
"""Short names of the repositories that carry a large diff."""


def render(plans: list[FilePlan]) -> BranchDiff:
    """Render planned files as one diff, in path order like `git diff`."""
    lines: list[str] = []
    added = removed = 0
    for plan in sorted(plans, key=lambda p: p.path):
        if plan.change == "modify":
            body, stat = _modified_file(plan)
        else:
            body, stat = _whole_file(plan)
        lines += body
        added += stat.added
        removed += stat.removed

    text = "\n".join(lines) + "\n"
    return BranchDiff(text, DiffStat(added, removed), len(plans))


@functools.cache
def branch_diff(short_name: str) -> BranchDiff:
    """Return the large diff of repository `web` or `api`, built once per process."""
    return render(_PLANS[short_name]())
