"""Importing village spreadsheets (导入): households and members, points, quarterly scores.

A file (XLSX, or CSV in UTF-8 with or without BOM or in GB18030/GBK as Excel in China saves
it) goes through two steps:

1. :func:`preview_import` reads every row, checks it against the database and stores the
   batch (:class:`~kiosk.models.ImportBatch`): the file's bytes and every row with its errors
   ("第12行：户号 A-07 不存在"), each kept as its msgid and parameters
   (:func:`kiosk.messages.to_json`) so that the preview is shown in its reader's language.
   Nothing else is written.
2. :func:`commit_import` re-reads the stored bytes (never what a browser sends back), checks
   every row again inside one write transaction and writes all of them or none: one
   ``import.commit`` audit event plus the per-row events the services write. A batch commits
   once; the same file (same SHA-256 and kind) committed before is refused.

Headers are matched loosely: full-width letters folded, spaces and "*" dropped, a bracketed
hint like "（必填）" ignored, and common other names accepted (姓名 for 成员, 评分 for 分数).
The header row may sit under a title row, as in the templates from :func:`template_bytes`.
Dates may be Excel dates or text: 2024-03-05, 2024/3/5, 2024.3.5, 2024年3月5日, 20240305.

Points rows become pending proposals (kiosk.intake) of the batch: they count only when another
admin approves them, one by one or the whole batch. Scores rows go to the assessments; under
寨里 a score may be given as the standards met (标准编号 "1、3、22"), summed to at most 100.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from kiosk import assessments, audit, clock, households, intake, parsing, standards
from kiosk.database import lock, write_transaction
from kiosk.errors import (
    DomainError,
    ImportAlreadyCommitted,
    ImportInvalid,
    NotFound,
    ValidationFailed,
)
from kiosk.export import Sheet, workbook_bytes
from kiosk.extensions import db
from kiosk.messages import N_, WORD_SEPARATOR, Joined, Message, _, to_json
from kiosk.models import (
    IMPORT_COMMITTED,
    IMPORT_HOUSEHOLDS,
    IMPORT_KINDS,
    IMPORT_POINTS,
    IMPORT_PREVIEWED,
    IMPORT_SCORES,
    Assessment,
    Household,
    ImportBatch,
    ImportKind,
    Member,
    Supermarket,
    User,
)
from kiosk.points import MAX_ADJUSTMENT
from kiosk.rules import HOLDER_INDIVIDUAL
from kiosk.timeutil import utcnow

logger = logging.getLogger(__name__)

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ROWS = 50_000
HEADER_SCAN_ROWS = 10

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # the template's header (N_: shown translated in the preview's header row)
    required: bool = False
    aliases: tuple[str, ...] = ()
    hint: str = ""  # the template's note under the header


COLUMNS: dict[str, tuple[Column, ...]] = {
    IMPORT_HOUSEHOLDS: (
        Column(
            "number", N_("户号"), True, ("户编号", "户籍编号"), "同一户的每位成员各占一行，户号相同"
        ),
        Column("head", N_("户主"), True, ("户主姓名",), "同一户只需在第一行填写"),
        Column("village", N_("村"), False, ("村居", "村名", "所属村", "村庄"), ""),
        Column("group", N_("组"), False, ("村民小组", "小组", "组别", "所属组"), ""),
        Column(
            "member",
            N_("成员"),
            True,
            ("成员姓名", "姓名", "家庭成员"),
            "每行一位成员（含户主本人）",
        ),
        Column("relation", N_("关系"), False, ("与户主关系", "家庭关系"), "户主、配偶、子女……"),
        Column(
            "birth", N_("出生日期"), False, ("出生年月", "生日", "出生年月日"), "例如 1958-03-21"
        ),
    ),
    IMPORT_POINTS: (
        Column("number", N_("户号"), True, ("户编号",), ""),
        Column("member", N_("成员"), False, ("成员姓名", "姓名"), "可不填"),
        Column("date", N_("日期"), True, ("发生日期", "时间", "加减分日期"), "例如 2024-03-05"),
        Column("code", N_("标准编号"), False, ("标准", "标准序号", "积分标准"), "与事由至少填一项"),
        Column("reason", N_("事由"), False, ("原因", "加减分原因", "理由", "事项"), ""),
        Column("amount", N_("分值"), False, ("积分", "加减分", "分数"), "扣分写负数；按标准可不填"),
        Column("evidence", N_("证明材料"), False, ("证明", "佐证材料", "证据", "材料"), ""),
    ),
    IMPORT_SCORES: (
        Column("number", N_("户号"), True, ("户编号",), ""),
        Column("member", N_("成员"), False, ("成员姓名", "姓名"), "按个人评分时必填"),
        Column("period", N_("期间"), True, ("考评期", "评分期间", "季度", "月份"), "例如 2024Q1"),
        Column("score", N_("分数"), False, ("评分", "得分", "分值"), "0到100的整数"),
        Column("codes", N_("标准编号"), False, ("标准", "达标项目"), "可代替分数：如 1、3、22"),
        Column("note", N_("备注"), False, ("说明",), ""),
    ),
}

KIND_LABELS: dict[str, str] = {
    IMPORT_HOUSEHOLDS: "户与成员",
    IMPORT_POINTS: "加减分",
    IMPORT_SCORES: "季度评分",
}


# --- reading files ---------------------------------------------------------------------------


@dataclass
class Table:
    """The rows of a file under its header: (sheet row number, {column key: raw value})."""

    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    problems: list[Message] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # the file's own header cells, as written


def normalize_header(text: object) -> str:
    """ "＊ 户　号（必填）" → "户号": full-width folded, spaces, stars and bracketed hints gone."""
    s = unicodedata.normalize("NFKC", str(text if text is not None else ""))
    s = re.sub(r"\(.*?\)|\[.*?\]|【.*?】", "", s)
    s = re.sub(r"[\s*:：]+", "", s)
    return s.lower()


# Files people pick by mistake (a photo of the paper list, a PDF): named, not "not a table".
_NOT_TABLES = (
    (b"\x89PNG\r\n\x1a\n", N_("PNG 图片")),
    (b"\xff\xd8\xff", N_("JPG 图片")),
    (b"GIF8", N_("GIF 图片")),
    (b"%PDF", N_("PDF 文件")),
)


_TOO_MANY_ROWS = _("文件行数太多：一次最多导入%(n)s行，请分成几个文件", n=MAX_ROWS)


def _raw_rows(data: bytes, filename: str) -> list[list[Any]]:
    """Every row of the first sheet (XLSX) or of the CSV, as plain values."""
    head = data[:8]
    for magic, what in _NOT_TABLES:
        if head.startswith(magic):
            raise ValidationFailed(
                _(
                    "这是一个%(what)s，不是表格：请导入 Excel（.xlsx）或 CSV 文件（可以先下载导入模板）",
                    what=Message(what),
                )
            )
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ValidationFailed(
            _("不支持旧版 Excel（.xls）文件：请在 Excel 中“另存为” .xlsx 或 CSV 后再导入")
        )
    if head.startswith(b"PK\x03\x04"):
        return _xlsx_rows(data)
    if filename.lower().endswith((".xlsx", ".xlsm")):
        raise ValidationFailed(_("文件不是有效的 Excel（.xlsx）文件，可能已损坏"))
    return _csv_rows(data)


def _xlsx_rows(data: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise ValidationFailed(_("文件不是有效的 Excel（.xlsx）文件，可能已损坏")) from None
    try:
        if not wb.worksheets:
            raise ValidationFailed(_("Excel 文件中没有工作表"))
        rows = []
        for row in wb.worksheets[0].iter_rows(values_only=True):
            rows.append(list(row))
            if len(rows) > MAX_ROWS + HEADER_SCAN_ROWS:
                raise ValidationFailed(_TOO_MANY_ROWS)
        return rows
    finally:
        wb.close()


def decode_text(data: bytes) -> str:
    """CSV bytes as text: UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030 (GBK)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise ValidationFailed(
            _("无法识别文件的文字编码：请保存为 UTF-8 或 GBK 编码的 CSV")
        ) from None


def _csv_rows(data: bytes) -> list[list[Any]]:
    text = decode_text(data)
    if not text.strip(" \t\r\n,;\ufeff"):
        raise ValidationFailed(_("文件是空的：里面没有任何内容。请在导入模板里填好后再导入"))
    if "\x00" in text:
        raise ValidationFailed(_("文件不是 CSV 或 Excel（.xlsx）表格"))
    first = text.split("\n", 1)[0]
    delimiter = max((",", "\t", ";"), key=first.count)
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    if len(rows) > MAX_ROWS + HEADER_SCAN_ROWS:
        raise ValidationFailed(_TOO_MANY_ROWS)
    return rows


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def read_table(kind: str, data: bytes, filename: str = "") -> Table:
    """Find the header row and map each later row to the kind's columns."""
    columns = COLUMNS[kind]
    names: dict[str, str] = {}
    for col in columns:
        for name in (col.label, *col.aliases):
            names.setdefault(normalize_header(name), col.key)
    table = Table()
    try:
        raw = _raw_rows(data, filename)
    except ValidationFailed as exc:
        table.problems.append(_said(exc))
        return table
    required = {c.key for c in columns if c.required}
    header_at, mapping = None, {}
    for i, row in enumerate(raw[:HEADER_SCAN_ROWS]):
        found: dict[int, str] = {}
        for j, cell in enumerate(row):
            key = names.get(normalize_header(cell))
            if key is not None and key not in found.values():
                found[j] = key
        if required <= set(found.values()):
            header_at, mapping = i, found
            break
    if header_at is None:
        # The headers as the file must write them (files are Chinese), in any language.
        labels = Joined([c.label for c in columns if c.required], WORD_SEPARATOR)
        table.problems.append(
            _(
                "没有找到表头：表格的第一行（或标题下一行）应包含这些列：%(labels)s。请使用导入模板",
                labels=labels,
            )
        )
        return table
    header = raw[header_at]
    table.ignored = [
        str(cell).strip() for j, cell in enumerate(header) if j not in mapping and not _blank(cell)
    ]
    for i in range(header_at + 1, len(raw)):
        row = raw[i]
        values = {key: (row[j] if j < len(row) else None) for j, key in mapping.items()}
        if all(_blank(v) for v in values.values()):
            continue
        # A control character (an ESC or a form feed pasted into a CSV; a NUL makes the whole
        # CSV unreadable above) garbles receipts and exports: the file is refused, naming the row.
        bad = None
        for value in values.values():
            if isinstance(value, str) and (bad := parsing.bad_character(value, multiline=True)):
                break
        if bad is not None and len(table.problems) < 10:
            where = parsing.describe_character(bad)
            table.problems.append(
                _(
                    "第%(n)s行含有不允许的控制字符（%(where)s），请删去后重新导入",
                    n=i + 1,
                    where=where,
                )
            )
        table.rows.append((i + 1, values))
    if not table.rows:
        table.problems.append(_("表格里没有数据行"))
    return table


# --- cell values -----------------------------------------------------------------------------


def text(value: Any) -> str:
    """A cell as text: numbers without ".0", dates as YYYY-MM-DD, full-width spaces trimmed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        if value.time() == datetime.min.time():
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).replace("\u3000", " ").strip()


_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$", re.ASCII)
EXCEL_EPOCH = date(1899, 12, 30)


def parse_date(value: Any) -> date:
    """An Excel date, an Excel serial number or text in the usual Chinese forms."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 20000 < value < 80000:  # an Excel serial day (1954..2118)
            return EXCEL_EPOCH + timedelta(days=int(value))
        value = text(value)
    s = unicodedata.normalize("NFKC", str(value or "")).strip()
    s = re.sub(r"\s+\d{1,2}:\d{2}(:\d{2})?$", "", s)  # "2024-03-05 00:00:00"
    m = _DATE_RE.match(s)
    if m is None and re.fullmatch(r"\d{8}", s, re.ASCII):
        m = re.match(r"(\d{4})(\d{2})(\d{2})", s)
    if m is None:
        raise ValueError(s)
    return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))


_FULL_WIDTH_NUMBER = str.maketrans("０１２３４５６７８９＋－．　", "0123456789+-. ")


def parse_int(value: Any) -> int:
    """ "+4", "-2", 4.0, "４" (full-width, as a Chinese keyboard types it) → an int within the
    database's range; anything else ("²", "1e3", 2**40) raises ValueError."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(value)
        value = int(value)
    if isinstance(value, int):
        return parsing.parse_int(value)
    s = str(value).translate(_FULL_WIDTH_NUMBER).replace(" ", "").removesuffix("分")
    return parsing.parse_int(re.sub(r"\.0+$", "", s))


# --- checking rows ---------------------------------------------------------------------------


@dataclass
class RowResult:
    number: int  # the sheet's row number, as Excel shows it
    values: list[str]
    errors: list[Message] = field(default_factory=list)
    payload: Any = None


@dataclass
class Checked:
    """Every row of a file, checked: what the preview shows and what commit writes."""

    kind: str
    rows: list[RowResult] = field(default_factory=list)
    problems: list[Message] = field(default_factory=list)  # file-level errors
    ignored: list[str] = field(default_factory=list)
    totals: dict[str, Any] = field(default_factory=dict)
    # Rows the check loaded (households, members, items), held so that the commit's writes in
    # the same transaction find them in the session instead of querying once per row.
    loaded: list[Any] = field(default_factory=list)

    @property
    def error_rows(self) -> int:
        return sum(1 for r in self.rows if r.errors)

    @property
    def ok(self) -> bool:
        return not self.problems and self.error_rows == 0 and bool(self.rows)

    def messages(self) -> list[Message]:
        """Every error as one line: file-level ones, then "第12行：户号 A-07 不存在"."""
        out = list(self.problems)
        for row in self.rows:
            out.extend(_("第%(n)s行：%(e)s", n=row.number, e=e) for e in row.errors)
        return out


def _said(exc: DomainError) -> Message:
    """A refusal's sentence as a message (a plain one is its own msgid)."""
    return exc.text if isinstance(exc.text, Message) else Message(exc.text)


def _households_by_number(supermarket_id: int) -> dict[str, Household]:
    homes = db.session.scalars(
        sa.select(Household).where(Household.supermarket_id == supermarket_id)
    )
    return {h.number: h for h in homes}


def _members_by_household(household_ids: set[int]) -> dict[int, dict[str, Member]]:
    out: dict[int, dict[str, Member]] = {}
    if not household_ids:
        return out
    rows = db.session.scalars(
        sa.select(Member).where(Member.household_id.in_(household_ids)).order_by(Member.id)
    )
    for m in rows:
        if m.active:
            out.setdefault(m.household_id, {}).setdefault(m.name, m)
    return out


def _number(value: Any) -> str:
    """A household number as the counter types it: full-width folded ("Ａ－０７" → "A-07"),
    spaces gone."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text(value)))


def _name(value: Any) -> str:
    return re.sub(r"\s+", "", text(value))


def check_rows(
    kind: str,
    supermarket_id: int,
    table: Table,
    *,
    progress: Progress | None = None,
    today: date | None = None,
) -> Checked:
    """Check every row against the database (reads only)."""
    if kind not in IMPORT_KINDS:
        raise ValidationFailed(_("不支持的导入类型"))
    checked = Checked(kind, problems=list(table.problems), ignored=list(table.ignored))
    today = today or clock.local_now().date()
    checker = {
        IMPORT_HOUSEHOLDS: _check_households,
        IMPORT_POINTS: _check_points,
        IMPORT_SCORES: _check_scores,
    }[ImportKind(kind)]
    checker(supermarket_id, table, checked, today, progress or (lambda n: None))
    return checked


def _row_values(kind: str, values: dict[str, Any]) -> list[str]:
    return [text(values.get(c.key)) for c in COLUMNS[kind]]


def _check_households(
    supermarket_id: int, table: Table, checked: Checked, today: date, progress: Progress
) -> None:
    existing = {
        n
        for n in db.session.scalars(
            sa.select(Household.number).where(Household.supermarket_id == supermarket_id)
        )
    }
    groups: dict[str, dict[str, Any]] = {}
    for number_at, values in table.rows:
        row = RowResult(number_at, _row_values(IMPORT_HOUSEHOLDS, values))
        checked.rows.append(row)
        errors = row.errors
        number = _number(values.get("number"))
        head = _name(values.get("head"))
        village = text(values.get("village"))
        group_name = text(values.get("group"))
        member = _name(values.get("member"))
        relation = text(values.get("relation"))
        birth = None
        if not number:
            errors.append(_("户号不能为空"))
        elif len(number) > 32:
            errors.append(_("户号不能超过32个字符"))
        elif number in existing:
            errors.append(_("户号 %(number)s 已存在（导入只能新增户）", number=number))
        if not member:
            errors.append(_("成员姓名不能为空"))
        elif len(member) > 50:
            errors.append(_("成员姓名不能超过50个字"))
        if len(head) > 50:
            errors.append(_("户主姓名不能超过50个字"))
        if len(village) > 50 or len(group_name) > 50:
            errors.append(_("村、组名称不能超过50个字"))
        if len(relation) > 20:
            errors.append(_("关系不能超过20个字"))
        raw_birth = values.get("birth")
        if not _blank(raw_birth):
            try:
                birth = parse_date(raw_birth)
            except ValueError:
                errors.append(
                    _("出生日期“%(value)s”无法识别，应写成 1958-03-21", value=text(raw_birth))
                )
            else:
                if birth > today:
                    errors.append(_("出生日期不能晚于今天"))
                elif birth.year < 1900:
                    errors.append(_("出生日期不正确"))
        if number:
            group = groups.get(number)
            if group is None:
                group = groups[number] = {
                    "first": number_at,
                    "head": head,
                    "village": village,
                    "group": group_name,
                    "members": {},
                    "rows": [],
                }
                if not head:
                    errors.append(_("户号 %(number)s 的第一行必须填写户主", number=number))
            else:
                for key, label, value in (
                    ("head", N_("户主"), head),
                    ("village", N_("村"), village),
                    ("group", N_("组"), group_name),
                ):
                    if not value:
                        continue
                    if not group[key]:
                        group[key] = value
                    elif group[key] != value:
                        errors.append(
                            _(
                                "%(label)s“%(value)s”与第%(first)s行（同一户号 %(number)s）不一致",
                                label=Message(label),
                                value=value,
                                first=group["first"],
                                number=number,
                            )
                        )
            if member:
                if member in group["members"]:
                    errors.append(
                        _(
                            "成员 %(member)s 在户号 %(number)s 中重复（第%(row)s行）",
                            member=member,
                            number=number,
                            row=group["members"][member],
                        )
                    )
                else:
                    group["members"][member] = number_at
            group["rows"].append(row)
            row.payload = (number, households.MemberInput(member, relation, birth))
        progress(1)
    checked.totals = {
        "households": len(groups),
        "members": sum(len(g["members"]) for g in groups.values()),
    }
    checked.totals["_groups"] = groups


def _check_points(
    supermarket_id: int, table: Table, checked: Checked, today: date, progress: Progress
) -> None:
    homes = _households_by_number(supermarket_id)
    members = _members_by_household({h.id for h in homes.values()})
    items = standards.items_by_code(supermarket_id)
    checked.loaded.extend([homes, members, items])
    awards = deductions = 0
    for number_at, values in table.rows:
        row = RowResult(number_at, _row_values(IMPORT_POINTS, values))
        checked.rows.append(row)
        errors = row.errors
        number = _number(values.get("number"))
        household = homes.get(number)
        member = None
        if not number:
            errors.append(_("户号不能为空"))
        elif household is None:
            errors.append(_("户号 %(number)s 不存在", number=number))
        name = _name(values.get("member"))
        if name and household is not None:
            member = members.get(household.id, {}).get(name)
            if member is None:
                errors.append(
                    _("户号 %(number)s 没有名为 %(name)s 的成员", number=number, name=name)
                )
        occurred = None
        raw_date = values.get("date")
        if _blank(raw_date):
            errors.append(_("日期不能为空"))
        else:
            try:
                occurred = parse_date(raw_date)
            except ValueError:
                errors.append(_("日期“%(value)s”无法识别，应写成 2024-03-05", value=text(raw_date)))
            else:
                if occurred > today:
                    errors.append(_("日期不能晚于今天"))
                elif occurred.year < 2000:
                    errors.append(_("日期不正确"))
        item = None
        code = standards.normalize_code(values.get("code"))
        if code:
            item = items.get(code)
            if item is None:
                errors.append(_("标准编号 %(code)s 不存在", code=code))
            elif not item.active:
                errors.append(_("标准编号 %(code)s 已停用", code=code))
                item = None
        reason = text(values.get("reason"))
        if not code and not reason:
            errors.append(_("标准编号和事由至少填写一项"))
        elif len(reason) > intake.MAX_REASON:
            errors.append(_("事由不能超过%(n)s个字", n=intake.MAX_REASON))
        amount = None
        raw_amount = values.get("amount")
        if not _blank(raw_amount):
            try:
                amount = parse_int(raw_amount)
            except ValueError:
                errors.append(_("分值“%(value)s”不是整数", value=text(raw_amount)))
            else:
                if amount == 0:
                    errors.append(_("分值不能为0"))
                elif abs(amount) > MAX_ADJUSTMENT:
                    errors.append(_("分值过大"))
        elif not code:
            errors.append(_("没有标准编号时必须填写分值"))
        evidence = text(values.get("evidence"))
        if len(evidence) > intake.MAX_EVIDENCE:
            errors.append(_("证明材料说明不能超过%(n)s个字", n=intake.MAX_EVIDENCE))
        if not errors and household is not None and occurred is not None:
            row.payload = intake.ProposalInput(
                household_id=household.id,
                occurred_on=occurred,
                standard_item_id=item.id if item else None,
                amount=amount,
                member_id=member.id if member else None,
                reason=reason,
                evidence=evidence,
            )
            # No amount: the standard item's points (it is found and active, else an error above).
            standard = item.points if item is not None else 0
            signed = amount if amount is not None else standard
            if signed > 0:
                awards += signed
            else:
                deductions += signed
        progress(1)
    checked.totals = {
        "proposals": sum(1 for r in checked.rows if r.payload is not None),
        "awards": awards,
        "deductions": deductions,
    }


def _check_scores(
    supermarket_id: int, table: Table, checked: Checked, today: date, progress: Progress
) -> None:
    from kiosk.rules.policies import policy_for

    policy = policy_for(db.session.get_one(Supermarket, supermarket_id))
    by_member = policy.holder == HOLDER_INDIVIDUAL
    homes = _households_by_number(supermarket_id)
    members = _members_by_household({h.id for h in homes.values()})
    items = standards.items_by_code(supermarket_id)
    seen: dict[tuple[int, int | None, str], int] = {}
    periods: dict[str, int] = {}
    for number_at, values in table.rows:
        row = RowResult(number_at, _row_values(IMPORT_SCORES, values))
        checked.rows.append(row)
        errors = row.errors
        number = _number(values.get("number"))
        household = homes.get(number)
        if not number:
            errors.append(_("户号不能为空"))
        elif household is None:
            errors.append(_("户号 %(number)s 不存在", number=number))
        name = _name(values.get("member"))
        member = None
        if household is not None:
            if name:
                if not by_member:
                    errors.append(_("本超市按户评分，成员一栏请留空"))
                else:
                    member = members.get(household.id, {}).get(name)
                    if member is None:
                        errors.append(
                            _("户号 %(number)s 没有名为 %(name)s 的成员", number=number, name=name)
                        )
            elif by_member:
                errors.append(
                    _("本超市按个人评分：请填写户号 %(number)s 的成员姓名", number=number)
                )
        period = text(values.get("period")).upper().replace(" ", "")
        period = unicodedata.normalize("NFKC", period)
        if not period:
            errors.append(_("期间不能为空"))
        else:
            try:
                period = assessments.validate_period(period, policy)
            except ValidationFailed as exc:
                errors.append(_said(exc))
                period = ""
        cited = []
        codes = standards.split_codes(values.get("codes"))
        for code in codes:
            item = items.get(code)
            if item is None:
                errors.append(_("标准编号 %(code)s 不存在", code=code))
            elif not item.active:
                errors.append(_("标准编号 %(code)s 已停用", code=code))
            elif item in cited:
                errors.append(_("标准编号 %(code)s 重复", code=code))
            else:
                cited.append(item)
        score = None
        raw_score = values.get("score")
        if not _blank(raw_score):
            try:
                score = parse_int(raw_score)
            except ValueError:
                errors.append(_("分数“%(value)s”不是整数", value=text(raw_score)))
            else:
                if not 0 <= score <= 100:
                    errors.append(_("分数必须在0到100之间"))
        elif cited:
            score = standards.score_from_codes(cited)
        elif not codes:
            errors.append(_("请填写分数（或达标的标准编号）"))
        note = text(values.get("note"))
        if cited:
            basis = "依据标准：" + "、".join(i.code for i in cited)
            note = f"{note}；{basis}" if note else basis
        if len(note) > assessments.MAX_NOTE:
            errors.append(_("备注不能超过%(n)s个字", n=assessments.MAX_NOTE))
        if household is not None and period:
            key = (household.id, member.id if member else None, period)
            if key in seen:
                who = name or number
                errors.append(
                    _(
                        "%(who)s 的 %(period)s 评分与第%(row)s行重复",
                        who=who,
                        period=period,
                        row=seen[key],
                    )
                )
            else:
                seen[key] = number_at
        if not errors and household is not None and score is not None:
            row.payload = (
                period,
                assessments.AssessmentInput(
                    household.id, score, member.id if member else None, note
                ),
            )
            periods[period] = periods.get(period, 0) + 1
        progress(1)
    checked.totals = {"scores": sum(periods.values()), "periods": dict(sorted(periods.items()))}


# --- preview and commit ----------------------------------------------------------------------


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _committed_twin(supermarket_id: int, kind: str, digest: str) -> ImportBatch | None:
    return db.session.scalar(
        sa.select(ImportBatch)
        .where(
            ImportBatch.supermarket_id == supermarket_id,
            ImportBatch.kind == kind,
            ImportBatch.sha256 == digest,
            ImportBatch.status == IMPORT_COMMITTED,
        )
        .order_by(ImportBatch.id)
        .limit(1)
    )


def check_file(
    supermarket_id: int,
    kind: str,
    data: bytes,
    filename: str = "",
    *,
    progress: Progress | None = None,
) -> Checked:
    """Read and check a file without writing anything."""
    if kind not in IMPORT_KINDS:
        raise ValidationFailed(
            _("不支持的导入类型：可选 households（户与成员）、points（加减分）、scores（季度评分）")
        )
    if len(data) > MAX_FILE_BYTES:
        checked = Checked(kind)
        checked.problems.append(_("文件太大：最大 %(n)s MB", n=MAX_FILE_BYTES // (1024 * 1024)))
        return checked
    table = read_table(kind, data, filename)
    checked = check_rows(kind, supermarket_id, table, progress=progress)
    twin = _committed_twin(supermarket_id, kind, sha256(data))
    if twin is not None:
        checked.problems.append(
            _(
                "同一个文件已于 %(date)s 导入过（批次 #%(id)s），不能重复导入",
                date=format(twin.committed_at, "%Y-%m-%d"),
                id=twin.id,
            )
        )
    return checked


def _preview_json(checked: Checked) -> dict[str, Any]:
    """What the preview page shows, stored with the batch: the problems and errors as their
    msgids and parameters (``kiosk.messages.from_json`` reads them back to render in the
    reader's language; a batch stored before holds them as Chinese text)."""
    return {
        "headers": [c.label for c in COLUMNS[checked.kind]],
        "problems": to_json(checked.problems),
        "ignored": checked.ignored,
        "totals": {k: v for k, v in checked.totals.items() if not k.startswith("_")},
        "rows": [
            {"n": r.number, "values": r.values, "errors": to_json(r.errors)} for r in checked.rows
        ],
    }


def preview_import(
    supermarket_id: int,
    kind: str,
    filename: str,
    data: bytes,
    *,
    actor: User | None,
    progress: Progress | None = None,
) -> tuple[ImportBatch, Checked]:
    """Check a file and keep it as a previewed batch (no household, proposal or score is
    written). Returns the batch and what was found."""
    named = (filename or "").strip()
    filename = named[:200] or "import"
    if not data:
        if named:
            raise ValidationFailed(_("文件“%(name)s”是空的：里面没有任何内容", name=filename))
        raise ValidationFailed(_("请选择要导入的文件"))
    checked = check_file(supermarket_id, kind, data, filename, progress=progress)
    with write_transaction():
        if db.session.get(Supermarket, supermarket_id) is None:
            raise NotFound(_("没有找到该超市"))
        batch = ImportBatch(
            supermarket_id=supermarket_id,
            kind=kind,
            filename=filename,
            sha256=sha256(data),
            content=data,
            rows=len(checked.rows),
            error_rows=checked.error_rows + (1 if checked.problems else 0),
            preview=_preview_json(checked),
            status=IMPORT_PREVIEWED,
            created_by_id=actor.id if actor is not None else None,
        )
        db.session.add(batch)
        db.session.flush()
        audit.record(
            "import.preview",
            batch,
            actor=actor,
            kind=kind,
            filename=filename,
            rows=len(checked.rows),
            error_rows=checked.error_rows,
        )
    logger.info(
        "import %s previewed: %s rows, %s with errors",
        batch.id,
        len(checked.rows),
        checked.error_rows,
    )
    return batch, checked


@dataclass(frozen=True)
class CommitResult:
    batch_id: int
    kind: str
    rows: int
    written: dict[str, int]


def commit_import(
    batch_id: int,
    *,
    actor: User | None,
    supermarket_id: int | None = None,
    progress: Progress | None = None,
) -> CommitResult:
    """Write every row of a previewed batch, all or nothing, in one transaction (re-checked
    from the stored file). A batch commits once."""
    tick = progress or (lambda n: None)
    with write_transaction():
        batch = db.session.scalar(lock(sa.select(ImportBatch).where(ImportBatch.id == batch_id)))
        if batch is None or (supermarket_id is not None and batch.supermarket_id != supermarket_id):
            raise NotFound(_("没有找到该导入批次"))
        if batch.status == IMPORT_COMMITTED:
            raise ImportAlreadyCommitted(
                _(
                    "批次 #%(id)s 已于 %(time)s（UTC）导入，不能重复导入",
                    id=batch.id,
                    time=format(batch.committed_at, "%Y-%m-%d %H:%M"),
                )
            )
        checked = check_file(
            batch.supermarket_id, batch.kind, batch.content, batch.filename, progress=tick
        )
        if not checked.ok:
            messages = checked.messages() or [_("表格里没有数据行")]
            if len(messages) > 5:
                said = _(
                    "导入文件有%(n)s处错误，没有写入任何数据：%(shown)s……",
                    n=len(messages),
                    shown=Joined(messages[:5]),
                )
            else:
                said = _(
                    "导入文件有%(n)s处错误，没有写入任何数据：%(shown)s",
                    n=len(messages),
                    shown=Joined(messages),
                )
            raise ImportInvalid(said, errors=messages[:200])
        writer = {
            IMPORT_HOUSEHOLDS: _write_households,
            IMPORT_POINTS: _write_points,
            IMPORT_SCORES: _write_scores,
        }[ImportKind(batch.kind)]
        written = writer(batch, checked, actor, tick)
        batch.status = IMPORT_COMMITTED
        batch.committed_at = utcnow()
        batch.committed_by_id = actor.id if actor is not None else None
        audit.record(
            "import.commit",
            batch,
            actor=actor,
            kind=batch.kind,
            filename=batch.filename,
            sha256=batch.sha256,
            rows=len(checked.rows),
            **written,
        )
    logger.info("import %s committed: %s", batch_id, written)
    return CommitResult(batch_id, batch.kind, len(checked.rows), written)


# Households written per flush (PostgreSQL inserts each lot with one statement a table).
HOUSEHOLDS_PER_FLUSH = 500


def _write_households(
    batch: ImportBatch, checked: Checked, actor: User | None, tick: Progress
) -> dict[str, int]:
    groups = list(checked.totals["_groups"].items())
    members = 0
    for start in range(0, len(groups), HOUSEHOLDS_PER_FLUSH):
        chunk = groups[start : start + HOUSEHOLDS_PER_FLUSH]
        added = []
        for number, group in chunk:
            people = [row.payload[1] for row in group["rows"]]
            added.append(
                households.add_household(
                    batch.supermarket_id,
                    number=number,
                    head_name=group["head"],
                    village=group["village"],
                    group_name=group["group"],
                    members=people,
                    flush=False,
                )
            )
            members += len(people)
            tick(len(people))
        db.session.flush()  # the ids the audit rows name
        for (number, _group), household in zip(chunk, added, strict=True):
            audit.record(
                "household.create", household, actor=actor, number=number, import_batch=batch.id
            )
        households.grant_joining_base(added, actor=actor)  # 高阳: the year's base on joining
    return {"households": len(groups), "members": members}


def _write_points(
    batch: ImportBatch, checked: Checked, actor: User | None, tick: Progress
) -> dict[str, int]:
    today = clock.local_now().date()
    with db.session.no_autoflush:
        for row in checked.rows:
            try:
                intake.add_proposal(
                    batch.supermarket_id,
                    row.payload,
                    actor=actor,
                    batch_id=batch.id,
                    today=today,
                    audit_row=False,
                    flush=False,
                )
            except DomainError as exc:  # checked above; a change in between refuses the lot
                raise ImportInvalid(
                    _("第%(n)s行：%(problem)s；没有写入任何数据", n=row.number, problem=exc.text)
                ) from None
            tick(1)
    db.session.flush()
    return {"proposals": len(checked.rows)}


def _write_scores(
    batch: ImportBatch, checked: Checked, actor: User | None, tick: Progress
) -> dict[str, int]:
    from kiosk.rules.policies import policy_for

    policy = policy_for(db.session.get_one(Supermarket, batch.supermarket_id))
    homes: dict[int, Household] = {}
    for row in checked.rows:
        period, data = row.payload
        household = db.session.get_one(Household, data.household_id)
        assessment = Assessment(
            household_id=household.id,
            member_id=data.member_id,
            period=period,
            score=data.score,
            note=data.note,
            created_by_id=actor.id if actor is not None else None,
        )
        db.session.add(assessment)
        db.session.flush()
        audit.record(
            "assessment.record",
            assessment,
            actor=actor,
            supermarket_id=batch.supermarket_id,
            household_id=household.id,
            member_id=data.member_id,
            period=period,
            score=data.score,
            import_batch=batch.id,
        )
        homes[household.id] = household
        tick(1)
    if policy.conversion is not None:
        # 大同: bring each scored household's account to its converted total, as
        # assessments.record_assessments does after every batch of scores.
        for household_id in sorted(homes):
            assessments._convert(homes[household_id], policy, actor)
    return {"scores": len(checked.rows)}


# --- batches, templates ----------------------------------------------------------------------


def get_batch(batch_id: int, supermarket_id: int | None = None) -> ImportBatch:
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None or (supermarket_id is not None and batch.supermarket_id != supermarket_id):
        raise NotFound(_("没有找到该导入批次"))
    return batch


def recent_batches(supermarket_id: int, limit: int = 20) -> list[ImportBatch]:
    return list(
        db.session.scalars(
            sa.select(ImportBatch)
            .where(ImportBatch.supermarket_id == supermarket_id)
            .order_by(ImportBatch.id.desc())
            .limit(limit)
        )
    )


_EXAMPLES: dict[str, list[list[Any]]] = {
    IMPORT_HOUSEHOLDS: [
        ["A-01", "张三丰", "东村", "一组", "张三丰", "户主", "1958-03-21"],
        ["A-01", "", "", "", "李秀英", "配偶", "1960-07-02"],
        ["A-02", "王建国", "东村", "二组", "王建国", "户主", "1971-11-15"],
    ],
    IMPORT_POINTS: [
        ["A-01", "张三丰", "2024-03-05", "3", "", "", "扫雪照片两张"],
        ["A-02", "", "2024-03-08", "", "乱堆柴草占道", "-2", "网格员记录"],
    ],
    IMPORT_SCORES: [
        ["A-01", "张三丰", "2024Q1", "86", "", ""],
        ["A-01", "李秀英", "2024Q1", "", "1、3、9", ""],
    ],
}


def template_bytes(kind: str) -> bytes:
    """The import template of a kind: the header row to fill in, and a sheet of examples."""
    if kind not in IMPORT_KINDS:
        raise NotFound(_("没有这种导入模板"))
    columns = COLUMNS[kind]
    label = KIND_LABELS[kind]
    notes = [
        f"{c.label}：{'必填' if c.required else '选填'}{'，' + c.hint if c.hint else ''}"
        for c in columns
    ]
    sheets = [
        Sheet(
            title=f"{label}导入模板",
            headers=[c.label for c in columns],
            rows=[],
            widths=[16] * len(columns),
            name=label,
        ),
        Sheet(
            title=f"{label}导入示例（不要在这一页填写）",
            headers=[c.label for c in columns],
            rows=_EXAMPLES[kind],
            footer=["填写说明：", *notes, "每个文件只导入第一个工作表；表头名称须与模板一致。"],
            widths=[16] * len(columns),
            name="示例与说明",
        ),
    ]
    return workbook_bytes(sheets)


__all__ = [
    "COLUMNS",
    "Checked",
    "CommitResult",
    "KIND_LABELS",
    "check_file",
    "commit_import",
    "decode_text",
    "get_batch",
    "normalize_header",
    "parse_date",
    "preview_import",
    "read_table",
    "recent_batches",
    "template_bytes",
]

# What a commit wrote, as the office's page says it in the reader's language ("1 户，2 位成员";
# the CLI prints WRITTEN_LABELS, in Chinese).
WRITTEN_SAID = {
    "households": N_("%(n)s 户"),
    "members": N_("%(n)s 位成员"),
    "proposals": N_("%(n)s 条加减分（待另一位管理员确认）"),
    "scores": N_("%(n)s 条评分"),
}


def written_message(written: dict[str, int]) -> Joined:
    """A commit's counts in one line: "1 户，2 位成员"."""
    return Joined([Message(WRITTEN_SAID[k], n=v) for k, v in written.items()], _("，"))


WRITTEN_LABELS = {
    "households": "户",
    "members": "位成员",
    "proposals": "条加减分（待另一位管理员确认）",
    "scores": "条评分",
}
