"""An import's preview in English: the problems found in a spreadsheet are stored as msgids and
parameters and shown in the reader's language, Chinese exactly as before (issue 20).

The village is named in Latin letters, so on the English page the only Chinese left would be a
sentence that bypassed the catalogue. The Chinese expected here is what the import said before
its sentences became messages, row for row.
"""

from __future__ import annotations

import io
import json
import re
from datetime import date, datetime
from html import unescape

import pytest
from flask import g

from kiosk import households, standards
from kiosk.database import write_transaction
from kiosk.export import read_rows
from kiosk.extensions import db
from kiosk.messages import Joined, Message, _, chinese, from_json, to_json
from kiosk.models import ImportBatch, Supermarket
from tests import factories

# Han characters and the full-width punctuation that comes with them (，：；（）).
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")

# The import templates' headers, as a file from the village has them (files are Chinese).
HOUSEHOLDS = [
    ["户号", "户主", "村", "组", "成员", "关系", "出生日期", "Phone", "Notes"],
    ["H0001", "Zhang San", "East Village", "", "Zhang San", "", "", "", ""],
    ["H0010", "", "East Village", "", "Wang Fang", "", "", "", ""],
    ["H0011", "Li Si", "East Village", "One", "Li Si", "", "1958-02-30", "", ""],
    ["H0011", "Li Wu", "West Village", "Two", "Li Si", "", "", "", ""],
    ["H0012", "Chen Qi", "", "", "", "head", "", "", ""],
    ["H0013", "Zhou Ba", "", "", "Zhou Ba", "x" * 21, "2030-01-01", "", ""],
    ["", "Wu Jiu", "", "", "Wu Jiu", "", "1850-01-01", "", ""],
    ["H" + "9" * 40, "N" * 51, "V" * 51, "", "M" * 51, "", "", "", ""],
    ["H0014", "Sun Shi", "", "", "Sun\x1bShi", "", "", "", ""],
]
POINTS = [
    ["户号", "成员", "日期", "标准编号", "事由", "分值", "证明材料"],
    ["H9999", "", "2024-03-05", "3", "", "", ""],
    ["H0001", "Nobody", "2024-03-05", "3", "", "", ""],
    ["H0001", "", "2024-13-05", "99", "", "", ""],
    ["H0001", "", "2024-03-05", "", "", "", ""],
    ["H0001", "", "2024-06-01", "", "helped", "two", ""],
    ["", "", "", "", "helped", "0", ""],
    ["H0001", "", "1999-01-01", "", "r" * 201, "99999999", "e" * 501],
    ["H0001", "", "2024-03-05", "K9", "", "", ""],
]
SCORES = [
    ["户号", "成员", "期间", "分数", "标准编号", "备注"],
    ["H9999", "", "2024Q1", "80", "", ""],
    ["H0001", "", "2024Q1", "80", "", ""],
    ["H0001", "Nobody", "2024Q1", "80", "", ""],
    ["H0001", "Zhang", "", "", "", ""],
    ["H0001", "Zhang", "2024-1", "abc", "", ""],
    ["H0001", "Zhang", "2025Q1", "101", "", ""],
    ["H0001", "Zhang", "2024Q1", "", "99 3 3 K9", "n" * 201],
    ["H0001", "Li", "2024Q1", "80", "", ""],
    ["H0001", "Li", "2024Q1", "70", "", ""],
]
FILES = {"households": HOUSEHOLDS, "points": POINTS, "scores": SCORES}

# What the import said in Chinese before its sentences were messages: the file's problems first,
# then every row's errors in order (as `jifen import` prints them).
CHINESE = {
    "households": [
        "第10行含有不允许的控制字符（U+001B），请删去后重新导入",
        "第2行：户号 H0001 已存在（导入只能新增户）",
        "第3行：户号 H0010 的第一行必须填写户主",
        "第4行：出生日期“1958-02-30”无法识别，应写成 1958-03-21",
        "第5行：户主“LiWu”与第4行（同一户号 H0011）不一致",
        "第5行：村“West Village”与第4行（同一户号 H0011）不一致",
        "第5行：组“Two”与第4行（同一户号 H0011）不一致",
        "第5行：成员 LiSi 在户号 H0011 中重复（第4行）",
        "第6行：成员姓名不能为空",
        "第7行：关系不能超过20个字",
        "第7行：出生日期不能晚于今天",
        "第8行：户号不能为空",
        "第8行：出生日期不正确",
        "第9行：户号不能超过32个字符",
        "第9行：成员姓名不能超过50个字",
        "第9行：户主姓名不能超过50个字",
        "第9行：村、组名称不能超过50个字",
    ],
    "points": [
        "第2行：户号 H9999 不存在",
        "第3行：户号 H0001 没有名为 Nobody 的成员",
        "第4行：日期“2024-13-05”无法识别，应写成 2024-03-05",
        "第4行：标准编号 99 不存在",
        "第5行：标准编号和事由至少填写一项",
        "第5行：没有标准编号时必须填写分值",
        "第6行：日期不能晚于今天",
        "第6行：分值“two”不是整数",
        "第7行：户号不能为空",
        "第7行：日期不能为空",
        "第7行：分值不能为0",
        "第8行：日期不正确",
        "第8行：事由不能超过200个字",
        "第8行：分值过大",
        "第8行：证明材料说明不能超过500个字",
        "第9行：标准编号 K9 已停用",
    ],
    "scores": [
        "第2行：户号 H9999 不存在",
        "第3行：本超市按个人评分：请填写户号 H0001 的成员姓名",
        "第4行：户号 H0001 没有名为 Nobody 的成员",
        "第4行：Nobody 的 2024Q1 评分与第3行重复",
        "第5行：期间不能为空",
        "第5行：请填写分数（或达标的标准编号）",
        "第6行：评分期间格式不正确：本超市按季度评分，应写成 2024Q1",
        "第6行：分数“abc”不是整数",
        "第7行：不能登记未来期间（2025Q1）的评分",
        "第7行：分数必须在0到100之间",
        "第8行：标准编号 99 不存在",
        "第8行：标准编号 3 重复",
        "第8行：标准编号 K9 已停用",
        "第8行：备注不能超过200个字",
        "第10行：Li 的 2024Q1 评分与第9行重复",
    ],
}


def csv_bytes(rows: list[list]) -> bytes:
    """A CSV as Excel in China saves it (an .xlsx cannot hold the control character)."""
    return ("\r\n".join(",".join(row) for row in rows) + "\r\n").encode("utf-8-sig")


@pytest.fixture
def village(app, monkeypatch):
    """A supermarket under 寨里's rules (scored per person) whose names are all in Latin letters,
    one household, the standards and one standard no longer in use (K9)."""
    factories.pin_clock(monkeypatch, datetime(2024, 5, 20, 10, 0))
    with write_transaction():
        sm = Supermarket(
            code="EN01", name="East Village Shop", town="Hilltown", village="East Village"
        )
        db.session.add(sm)
    factories.policy(sm, "zhaili")
    factories.user("admin1", "admin", sm, display_name="Li")
    households.create_household(
        sm.id,
        number="H0001",
        head_name="Zhang San",
        village="East Village",
        members=[households.MemberInput("Zhang"), households.MemberInput("Li")],
        actor=None,
    )
    standards.seed_standard_items(sm.id, actor=None)
    item = standards.create_item(sm.id, code="K9", title="Old rule", points=2, actor=None)
    standards.update_item(item.id, title="Old rule", points=2, active=False, actor=None)
    return sm


def login(client) -> None:
    resp = client.post("/login/password", data={"username": "admin1", "password": "secret123"})
    assert resp.status_code == 302


def upload(client, kind: str, data: bytes, name: str) -> int:
    resp = client.post(
        "/intake/import?lang=en",
        data={"kind": kind, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return int(resp.headers["Location"].rsplit("/", 1)[1])


def visible(html: str) -> str:
    """The page's text a person reads (no markup, styles or comments; the language switch names
    the other language in its own words)."""
    html = re.sub(r"<!--.*?-->", "", html, flags=re.S)
    html = re.sub(r"<(style|script)[^>]*>.*?</\1>", "", html, flags=re.S)
    html = html.replace(">中文</a>", "></a>")
    return unescape(re.sub(r"<[^>]+>", " ", html))


def chinese_in(text: str) -> list[str]:
    return [text[max(0, m.start() - 30) : m.end() + 30] for m in CJK.finditer(text)]


def said(html: str) -> list[str]:
    """The page's problems (above the table), then every row's errors, as shown."""
    problems = re.findall(r'<div class="form-error" role="alert">(.*?)</div>', html, flags=re.S)
    errors = re.findall(r'<div class="in-error">(.*?)</div>', html, flags=re.S)
    return [unescape(t) for t in problems + errors]


@pytest.mark.parametrize("kind", sorted(FILES))
def test_a_bad_file_previews_in_english_and_in_chinese_as_before(client, village, kind):
    login(client)
    batch_id = upload(client, kind, csv_bytes(FILES[kind]), f"{kind}.csv")
    url = f"/intake/import/{batch_id}"

    english = client.get(f"{url}?lang=en").get_data(as_text=True)
    shown = said(english)
    assert len(shown) == len(CHINESE[kind])
    assert not chinese_in(visible(english)), chinese_in(visible(english))

    chinese = client.get(f"{url}?lang=zh").get_data(as_text=True)
    assert said(chinese) == CHINESE[kind]

    # Stored as msgids and parameters, not as sentences in one language.
    preview = db.session.get(ImportBatch, batch_id).preview
    first = next(r for r in preview["rows"] if r["errors"])["errors"][0]
    assert set(first) == {"msgid", "params"} and CJK.search(first["msgid"])


def test_the_english_preview_reads_as_english(client, village):
    login(client)
    households_at = upload(client, "households", csv_bytes(HOUSEHOLDS), "households.csv")
    scores_at = upload(client, "scores", csv_bytes(SCORES), "scores.csv")

    page = visible(client.get(f"/intake/import/{households_at}?lang=en").get_data(as_text=True))
    assert (
        "Row 10 contains a control character that is not allowed (U+001B); "
        "delete it and import again"
    ) in page
    assert (
        "Row 2: Household number H0001 already exists (an import only adds new households)" in page
    )
    # A column's name inside a sentence is the reader's word for it.
    assert 'Row 5: Head of household "LiWu" differs from row 4 (same household no. H0011)' in page
    assert 'Row 5: Village "West Village" differs from row 4' in page
    # The file's own headers that are not the template's, listed in English.
    assert "These columns are not in the template and were ignored: Phone, Notes" in page
    # The table's header row in the reader's words.
    assert "Household no." in page and "Date of birth" in page

    page = visible(client.get(f"/intake/import/{scores_at}?lang=en").get_data(as_text=True))
    # A refusal of another service (the period) keeps its own words, in English too.
    assert (
        "Row 6: The scoring period is not in the right form: this supermarket scores by quarter, "
        "write it like 2024Q1"
    ) in page
    assert "Row 10: The 2024Q1 score of Li repeats row 9" in page


def test_the_check_download_and_the_refused_commit_follow_the_language(client, village):
    login(client)
    batch_id = upload(client, "households", csv_bytes(HOUSEHOLDS), "households.csv")
    url = f"/intake/import/{batch_id}"

    rows = read_rows(client.get(f"{url}/errors.xlsx?lang=zh").data)
    by_row = {r[0]: r for r in rows if isinstance(r[0], int)}
    assert by_row[9][-1] == "；".join(
        e.split("：", 1)[1] for e in CHINESE["households"] if e.startswith("第9行：")
    )
    assert rows[1][0] == "第10行含有不允许的控制字符（U+001B），请删去后重新导入"
    # The refused control character (a worksheet cannot hold it) is named, not a 500.
    assert by_row[10][5] == "Sun[U+001B]Shi"
    rows = read_rows(client.get(f"{url}/errors.xlsx?lang=en").data)
    assert [r for r in rows if r[0] == 9][0][-1].startswith(
        "The household number must be at most 32 characters; "
    )
    # The header cells stay the file's own (Chinese), so the corrected file imports again.
    header = next(r for r in rows if "户号" in r)
    assert not [c for r in rows if r is not header for c in r if CJK.search(str(c))]

    html = client.post(f"{url}/commit?lang=en", follow_redirects=True).get_data(as_text=True)
    assert "The import file has 17 errors; nothing was written: Row 10 contains" in html
    assert not chinese_in(visible(html)), chinese_in(visible(html))
    html = client.post(f"{url}/commit?lang=zh", follow_redirects=True).get_data(as_text=True)
    expected = "导入文件有17处错误，没有写入任何数据：" + "；".join(CHINESE["households"][:5])
    assert unescape(expected + "……") in unescape(html)


PNG = b"\x89PNG\r\n\x1a\n" + bytes(40)


@pytest.mark.parametrize(
    ("name", "data", "english", "chinese"),
    [
        (
            "list.png",
            PNG,
            "This is a PNG picture, not a table: please import an Excel (.xlsx) or CSV file",
            "这是一个PNG 图片，不是表格：请导入 Excel（.xlsx）或 CSV 文件（可以先下载导入模板）",
        ),
        (
            "old.xls",
            b"\xd0\xcf\x11\xe0" + bytes(100),
            "Old Excel files (.xls) are not supported",
            "不支持旧版 Excel（.xls）文件：请在 Excel 中“另存为” .xlsx 或 CSV 后再导入",
        ),
        (
            "blank.csv",
            b"   \n",
            "The file is empty: there is nothing in it.",
            "文件是空的：里面没有任何内容。请在导入模板里填好后再导入",
        ),
        (
            "names.csv",
            b"Name,Phone\r\nZhao,1\r\n",
            # The headers the file must have are named as the file writes them.
            "must have these columns, named as in the template: 户号, 户主, 成员. Please use",
            "没有找到表头：表格的第一行（或标题下一行）应包含这些列：户号、户主、成员。请使用导入模板",
        ),
    ],
)
def test_a_file_that_is_not_the_template_is_named_in_english(
    client, village, name, data, english, chinese
):
    login(client)
    url = f"/intake/import/{upload(client, 'households', data, name)}"
    page = client.get(f"{url}?lang=en").get_data(as_text=True)
    (problem,) = said(page)
    assert english in problem
    # No Chinese but the headers the file must have.
    assert not CJK.search(re.sub("户号|户主|成员", "", problem)), problem
    assert said(client.get(f"{url}?lang=zh").get_data(as_text=True)) == [chinese]


def test_an_empty_upload_is_refused_in_english(client, village):
    login(client)
    resp = client.post(
        "/intake/import?lang=en",
        data={"kind": "households", "file": (io.BytesIO(b""), "empty.csv")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 422
    assert 'The file "empty.csv" is empty: there is nothing in it' in unescape(
        resp.get_data(as_text=True)
    )
    resp = client.post(
        "/intake/import?lang=zh",
        data={"kind": "households", "file": (io.BytesIO(b""), "empty.csv")},
        content_type="multipart/form-data",
    )
    assert "文件“empty.csv”是空的：里面没有任何内容" in resp.get_data(as_text=True)


def test_a_clean_file_commits_and_says_what_it_wrote_in_english(client, village):
    login(client)
    rows = [
        HOUSEHOLDS[0][:7],
        ["H0020", "Qian", "", "", "Qian", "", ""],
        ["H0020", "", "", "", "Sun", "", ""],
    ]
    batch_id = upload(client, "households", csv_bytes(rows), "good.csv")
    url = f"/intake/import/{batch_id}"
    html = client.post(f"{url}/commit?lang=en", follow_redirects=True).get_data(as_text=True)
    assert "Imported: 1 household(s), 2 member(s)" in html
    assert not chinese_in(visible(html)), chinese_in(visible(html))
    # Committed again: refused in the reader's words (the batch's own date and number).
    html = client.post(f"{url}/commit?lang=en", follow_redirects=True).get_data(as_text=True)
    assert f"Batch #{batch_id} was imported at " in html and "cannot be imported again" in html
    assert not chinese_in(visible(html)), chinese_in(visible(html))


def test_a_batch_stored_before_shows_its_chinese_as_it_is(client, village):
    """A preview stored while the import kept sentences (plain Chinese) still opens, in both
    languages, and its check downloads."""
    with write_transaction():
        batch = ImportBatch(
            supermarket_id=village.id,
            kind="households",
            filename="old.xlsx",
            sha256="0" * 64,
            content=b"",
            rows=2,
            error_rows=2,
            preview={
                "headers": ["户号", "户主", "村", "组", "成员", "关系", "出生日期"],
                "problems": ["同一个文件已于 2024-05-01 导入过（批次 #1），不能重复导入"],
                "ignored": ["电话"],
                "totals": {"households": 1, "members": 1},
                "rows": [
                    {
                        "n": 2,
                        "values": ["A-07", "Zhao", "", "", "Zhao", "", ""],
                        "errors": ["户号 A-07 已存在（导入只能新增户）"],
                    }
                ],
            },
        )
        db.session.add(batch)
    login(client)
    url = f"/intake/import/{batch.id}"
    html = client.get(f"{url}?lang=zh").get_data(as_text=True)
    assert said(html) == [
        "同一个文件已于 2024-05-01 导入过（批次 #1），不能重复导入",
        "第2行：户号 A-07 已存在（导入只能新增户）",
    ]
    resp = client.get(f"{url}?lang=en")
    assert resp.status_code == 200
    assert said(resp.get_data(as_text=True)) == [
        "同一个文件已于 2024-05-01 导入过（批次 #1），不能重复导入",
        "Row 2: 户号 A-07 已存在（导入只能新增户）",
    ]
    rows = read_rows(client.get(f"{url}/errors.xlsx?lang=zh").data)
    assert rows[-1][-1] == "户号 A-07 已存在（导入只能新增户）"


# The stored form of a message (kiosk.messages.to_json / from_json) ------------------------


def test_a_message_is_stored_as_its_msgid_and_parameters(app):
    period = _(
        "评分期间格式不正确：本超市按%(unit)s评分，应写成 %(example)s",
        unit=_("季度"),
        example="2024Q1",
    )
    listed = Joined(["户号", Message("户主")])
    stored = to_json([period, listed, "plain"])
    assert stored == [
        {
            "msgid": "评分期间格式不正确：本超市按%(unit)s评分，应写成 %(example)s",
            "params": {"unit": {"msgid": "季度", "params": {}}, "example": "2024Q1"},
        },
        {"msgid": "；", "parts": ["户号", {"msgid": "户主", "params": {}}]},
        "plain",
    ]
    assert json.loads(json.dumps(stored)) == stored
    back = from_json(stored)
    assert back == [period, listed, "plain"]
    assert [chinese(m) for m in back] == [
        "评分期间格式不正确：本超市按季度评分，应写成 2024Q1",
        "户号；户主",
        "plain",
    ]
    with app.test_request_context("/?lang=en"):
        g.pop("_flask_babel", None)
        assert str(back[0]) == (
            "The scoring period is not in the right form: this supermarket scores by quarter, "
            "write it like 2024Q1"
        )
        assert str(back[1]) == "户号; Head of household"


def test_parameters_are_stored_json_safe(app):
    when = date(2024, 3, 5)
    assert to_json(_("%(d)s", d=when)) == {"msgid": "%(d)s", "params": {"d": "2024-03-05"}}
    assert to_json({"n": 3, "ok": True, "none": None, "tuple": (1, "a")}) == {
        "n": 3,
        "ok": True,
        "none": None,
        "tuple": [1, "a"],
    }
    # What is not a stored message reads back as it was.
    assert from_json({"n": 3, "items": ["a", {"b": 1}]}) == {"n": 3, "items": ["a", {"b": 1}]}
