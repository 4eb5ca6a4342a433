"""Every message the tools print, in Chinese and English.

Tool strings are looked up by key (`tr`). Located problems (lint, unreadable cases) are built in
English at the place they are found; `to_zh` renders them in Chinese from one table of patterns,
so that a new message without a pattern still prints, behind a Chinese lead-in, never not at all.
"""

from __future__ import annotations

import re
from functools import cache

TOOL: dict[str, tuple[str, str]] = {
    # key: (en, zh)
    "lint_ok": ("ok: {n} process specs ({names})", "通过：{n} 个流程规格（{names}）"),
    "warnings": (", {n} warning(s)", "，{n} 个提醒"),
    "problems": ("{n} problem(s)", "{n} 个问题"),
    "passed_failed": ("{passed} passed, {failed} failed", "通过 {passed} 项，失败 {failed} 项"),
    "fail": ("FAIL", "失败"),
    "coverage": (
        "coverage: {n} of {total} rules exercised, {info} more informational only",
        "覆盖：{total} 条规则中 {n} 条已测试，另 {info} 条仅作说明",
    ),
    "not_exercised": ("not exercised", "未测试"),
    "branches": ("routing branches: {n} not exercised", "审批路由分支：{n} 个未测试"),
    "versions_untested": (
        "spec versions: {n} judged by no test",
        "规格版本：{n} 个没有测试",
    ),
    "test_written": (
        "wrote a test to {file}:{line} ({process} {version}, as of {as_of}); it passes on the "
        "current specs: check that its expected outcome is right, then give it a note",
        "已写入测试 {file}:{line}（{process} {version}，判定时间 {as_of}）；按现行规格可通过："
        "请核对预期结果是否正确，再填写说明（note）",
    ),
    "never_taken": ("never taken", "从未成立"),
    "never_skipped": ("never skipped", "从未不成立"),
    "sla_summary": (
        "{cases} cases, {alerts} alerts, {unreadable} unreadable",
        "{cases} 件，预警 {alerts} 条，无法读取 {unreadable} 件",
    ),
    "not_judged": ("could not judge", "无法判定"),
    "batch_summary": (
        "{read} read, {judged} judged, {refused} refused, {alerts} alerts",
        "读取 {read} 件，判定 {judged} 件，拒收 {refused} 件，预警 {alerts} 条",
    ),
    "batch_summary_diff": (
        "{read} read, {judged} judged, {refused} refused, {changed} changed",
        "读取 {read} 件，判定 {judged} 件，拒收 {refused} 件，变化 {changed} 件",
    ),
    "batch_summary_check": (
        "{read} read, {judged} judged, {refused} refused, {errors} with an error finding",
        "读取 {read} 件，判定 {judged} 件，拒收 {refused} 件，有错误结论 {errors} 件",
    ),
    "batch_skipped": (
        "; skipped: {blank} blank line(s), {other} file(s) not .json/.jsonl",
        "；跳过：空行 {blank} 个，非 .json/.jsonl 文件 {other} 个",
    ),
    "diff_summary": (
        "{cases} cases, {changed} changed, {unreadable} unreadable",
        "{cases} 件，变化 {changed} 件，无法读取 {unreadable} 件",
    ),
    "over": ("{n:g} working days over", "超期 {n:g} 个工作日"),
    "unknown_event": ("unknown event", "未知事件"),
    "did_you_mean": ("did you mean '{name}'?", "是否应为 '{name}'？"),
    "interrupted": ("interrupted: nothing more was judged", "已中断：其余未判定"),
    "left": ("{n:g} working days left", "剩余 {n:g} 个工作日"),
    "due": ("due", "期限"),
    "counted": ("counted", "计入"),
    "skipped": ("skipped", "跳过"),
    "provisional_note": (
        "calendar_provisional: the official holidays of this year are not yet published; "
        "the due date may move",
        "calendar_provisional：该年度放假安排尚未公布，期限可能变动",
    ),
    "counted_after": (
        "({n} working days after {day}; calendar {version})",
        "（{day} 之后 {n} 个工作日；日历 {version}）",
    ),
    "provisional": ("(provisional)", "（预估）"),
    "calendar": ("calendar", "日历"),
    "source": ("source", "来源"),
    "official_years": ("official years", "已公布年度"),
    "provisional_years_head": (
        "provisional years (holidays estimated, no 调休 days)",
        "预估年度（节假日为推算，无调休）",
    ),
    "year_origin_table": ("shipped table", "随软件提供的放假表"),
    "year_origin_override": ("override file", "覆盖文件"),
    "year_origin_estimate": ("estimate", "预估"),
    "now_official": ("official year", "正式年度"),
    "becomes": ("provisional, would become official", "预估年度，将成为正式年度"),
    "update_none": (
        "no change: the calendar agrees with holidays {version}",
        "无变化：日历与 holidays {version} 一致",
    ),
    "update_dry": (
        "{n} year(s) would change; nothing was written (run again with --write to add them "
        "to {file})",
        "{n} 个年度将变化；未写入任何文件（加 --write 再运行，写入 {file}）",
    ),
    "update_written": (
        "wrote {n} year(s) to {file}; calendar {old} -> {new}",
        "已将 {n} 个年度写入 {file}；日历 {old} -> {new}",
    ),
    "version_shown": (
        "showing {id} version {version} (in force from {since})",
        "显示 {id} 版本 {version}（{since} 起施行）",
    ),
    "init_done": (
        "wrote {n} files: the specs, their tests and examples are in {folder}",
        "已写入 {n} 个文件：规格、测试和示例在 {folder}",
    ),
    "init_next": (
        "edit them there; every procrules command run here uses them (procrules lint, "
        "procrules test, procrules check processes/examples/water_type_change.json)",
        "请在该目录中修改；在此目录运行的 procrules 命令都使用这些规格（procrules lint、"
        "procrules test、procrules check processes/examples/water_type_change.json）",
    ),
    "init_next_cd": (
        "edit them there; run procrules from {dir} (or give --processes) to use them",
        "请在该目录中修改；在 {dir} 中运行 procrules（或用 --processes 指定）即可使用",
    ),
    "weekdays": (" Mo  Tu  We  Th  Fr  Sa  Su", " 一  二  三  四  五  六  日"),
}


def tr(key: str, lang: str, **params: object) -> str:
    en, zh = TOOL[key]
    return (zh if lang == "zh" else en).format(**params)


_KINDS = {"role": "角色", "document": "资料", "event": "事件", "step": "环节"}

# (pattern over the English message, Chinese template with the groups as {1}, {2}, ...),
# compiled on the first Chinese message (_patterns), not on every start of the command
_ZH_SOURCE: list[tuple[str, str]] = [
    (p, z)
    for p, z in [
        (r"^unknown key '(.+)'$", "未知的键 '{1}'"),
        (r"^missing required key '(.+)'$", "缺少必填的键 '{1}'"),
        (r"^unknown (role|document|event|step) '(.+)'$", "未知的{kind} '{2}'"),
        (r"^'(.+)' has no (zh|en) name$", "'{1}' 缺少 {2} 名称"),
        (r"^'(.+)' needs a name: .*$", "'{1}' 需要名称：{{zh: ..., en: ...}}"),
        (r"^rule '(.+)' is not in the rule register$", "规则 '{1}' 不在规则登记表中"),
        (r"^unknown name '(.+)' in message$", "消息中有未知名称 '{1}'"),
        (r"^unknown name '(.+)'$", "未知名称 '{1}'"),
        (r"^unknown function '(.+)'$", "未知函数 '{1}'"),
        (r"^'(.+)' is not one of (.+)$", "'{1}' 不是以下之一：{2}"),
        (r"^cannot compare (\w+) with (\w+)$", "不能比较 {1} 与 {2}"),
        (r"^'(.+)' is (\w+), expected (\w+)$", "'{1}' 是 {2}，应为 {3}"),
        (r"^'(.+)' gives a (\w+), expected a (\w+)$", "'{1}' 的结果是 {2}，应为 {3}"),
        (r"^syntax error: (.+)$", "表达式语法错误：{1}"),
        (r"^YAML syntax error: (.+)$", "YAML 语法错误：{1}"),
        # YAML slips and refused YAML features (source.py)
        (r"^a tab character: .*$", "出现了制表符（Tab）：请用空格缩进，不要用 Tab"),
        (
            r"^full-width colon '：' after '(.+)': .*$",
            "'{1}' 后面用了全角冒号 '：'：请改为半角冒号加一个空格，写成 '{1}: ...'",
        ),
        (
            r"^the value of '(.+)' contains ': ': .*$",
            "'{1}' 的值里有 ': '：请把整个值加上引号，写成 {1}: \"...\"",
        ),
        (
            r"^this line is not indented like the lines above it: .*$",
            "此行的缩进与上文不一致：同一层的键必须从同一列开始（每层缩进两个空格）",
        ),
        (
            r"^the quote (.) opened here is never closed: .*$",
            "此处开始的引号 {1} 没有闭合：请在文字末尾补上 {1}",
        ),
        (
            r"^the '\[' opened here is never closed: .*$",
            "此处开始的 '[' 没有闭合：请在列表末尾补上 ']'",
        ),
        (
            r"^the '\{' opened here is never closed: .*$",
            "此处开始的 '{{' 没有闭合：请在末尾补上 '}}'",
        ),
        (
            r"^more than one YAML document \('---'\): keep one$",
            "文件里有多个 YAML 文档（'---'）：只保留一个",
        ),
        (
            r"^YAML tag '(.+)' is not allowed: .*$",
            "不允许使用 YAML 标签 '{1}'：请直接写出普通的值",
        ),
        (
            r"^YAML alias '\*(.+)' is not allowed: .*$",
            "不允许使用 YAML 别名 '*{1}'：请在此处把内容完整写出",
        ),
        (
            r"^YAML anchor '&(.+)' is not allowed: .*$",
            "不允许使用 YAML 锚点 '&{1}'：请在每个用到的地方把内容完整写出",
        ),
        (
            r"^merge keys \('<<'\) are not allowed: .*$",
            "不允许使用合并键 '<<'：请在此处把映射的每个键逐一写出",
        ),
        (r"^nested deeper than (\d+) levels$", "嵌套超过 {1} 层"),
        (
            r"^a number with (\d+) digits \(at most (\d+)\): .*$",
            "数字有 {1} 位（最多 {2} 位）：如果是文字，请加引号",
        ),
        (
            r"^a key must be a plain word, not a list or mapping$",
            "键必须是普通文字，不能是列表或映射",
        ),
        (r"^not a regular file$", "不是普通文件"),
        (
            r"^the holidays package is not installed: .*$",
            "未安装 holidays 包：pip install 'procrules[holidays]'",
        ),
        (r"^'(.+)' is not a year like .*$", "'{1}' 不是年份（如 2027 或 2027-2028）"),
        (r"^'(.+)' is outside (\d+) to (\d+)$", "'{1}' 超出 {2} 至 {3}"),
        (r"^already exists; nothing was changed$", "已存在；未做任何改动"),
        (r"^not a folder$", "不是文件夹"),
        (r"^TOML syntax error: (.+)$", "TOML 语法错误：{1}"),
        (
            r"^procrules.toml names no specs folder: .*$",
            'procrules.toml 没有指定规格目录：请写 [procrules]，再写 processes = "processes"',
        ),
        (r"^file larger than (\d+) MiB$", "文件超过 {1} MiB"),
        (
            r"^'=' assigns a value: to compare, write '==' .*$",
            "'=' 是赋值：比较相等请写 '=='，如 direction == \"downgrade\"",
        ),
        (r"^key '(.+)' appears twice$", "键 '{1}' 重复"),
        (r"^step '(.+)' appears twice$", "环节 '{1}' 重复"),
        (
            r"^two deadlines are called '(.+)': give one an id$",
            "有两个时限都叫 '{1}'：请给其中一个设 id",
        ),
        (
            r"^process id '(.+)' must equal the file name '(.+)'$",
            "流程 id '{1}' 必须与文件名 '{2}' 相同",
        ),
        (
            r"^cannot read '(.+)': write e\.g\. .*$",
            "无法识别时限 '{1}'：请写如 '7 working days'、'24 hours'、'1 month'、"
            "'end of month'、'当天17:00前'",
        ),
        (
            r"^price of '(.+)' must be a number of yuan.*$",
            "'{1}' 的水价必须是元为单位的数字，如 \"5.00\"",
        ),
        (r"^(.+): no approver when (.+)$", "{1}：以下情形无人审批：{2}"),
        (r"^(.+): two approvers when (.+)$", "{1}：以下情形有两个审批人：{2}"),
        (r"^(.+): no step produces the (\w+) event '(.+)'$", "{1}：没有环节产生 {2} 事件 '{3}'"),
        (r"^step '(.+)' cannot be reached: .*$", "环节 '{1}' 无法到达：其 after 顺序形成循环"),
        (r"^document '(.+)' is required by no spec$", "资料 '{1}' 没有任何流程要求"),
        (r"^malformed JSON: (.+)$", "JSON 格式错误：{1}"),
        (r"^no such file$", "文件不存在"),
        (r"^cannot read file: (.+)$", "无法读取文件：{1}"),
        (r"^unknown process '(.+)'$", "未知流程 '{1}'"),
        (r"^not a folder of process specs$", "不是流程规格文件夹"),
        (r"^'(.+)' is not a date or time$", "'{1}' 不是日期或时间"),
        (r"^fact '(.+)' must be a number, not (.+)$", "事实 '{1}' 必须是数字，而不是 {2}"),
        (r"^fact '(.+)' must be at least (.+)$", "事实 '{1}' 不能小于 {2}"),
        (r"^fact '(.+)' must be at most (.+)$", "事实 '{1}' 不能大于 {2}"),
        (r"^fact '(.+)' must be between (.+) and (.+)$", "事实 '{1}' 必须在 {2} 与 {3} 之间"),
        (r"^(arrears|arrears_months) must be a number, not (.+)$", "{1} 必须是数字，而不是 {2}"),
        (r"^(arrears|arrears_months) must be at least (.+)$", "{1} 不能小于 {2}"),
        (r"^(arrears|arrears_months) must be at most (.+)$", "{1} 不能大于 {2}"),
        (r"^deadline (\S+) \((.+)\): (.+)$", "时限 {1}（{2}）超出日历范围：{3}"),
        (
            r"^'(.+)' may be zero here: .*$",
            "'{1}' 可能为零：请为该事实设置大于 0 的 minimum，或在表达式中先判断"
            "（如 '... if {1} > 0 else 0'）",
        ),
        (
            r"^'(.+)' is longer than ten years \(at most (\d+) (.+)\)$",
            "'{1}' 超过十年（最多 {2} {3}）",
        ),
        (r"^year (.+) is outside the supported years (.+)$", "年份 {1} 超出支持的范围 {2}"),
        (
            r"^(.+) counts business hours, but the calendar has none$",
            "{1} 按营业时间计算，但日历中没有营业时间",
        ),
        (
            r"^business hours (.+) do not run forwards.*$",
            "营业时间 {1} 不合理（每段应先开始后结束，并按时间顺序排列）",
        ),
        (r"^only a number fact has a (minimum|maximum)$", "只有数字类事实可以设置 {1}"),
        (r"^(minimum|maximum) must be a number between (.+)$", "{1} 必须是介于 {2} 的数字"),
        (r"^minimum is greater than maximum$", "minimum 大于 maximum"),
        (r"^'(.+)' is not a positive whole number$", "'{1}' 不是正整数"),
        (r"^fact '(.+)' must be (.+)$", "事实 '{1}' 必须是 {2}"),
        (r"^unknown water-use type '(.+)'$", "未知的用水性质 '{1}'"),
        (r"^(.+) is outside the calendar \((.+)\)$", "{1} 超出日历范围（{2}）"),
        (r"^(.+) is outside the calendar$", "{1} 超出日历范围"),
        (r"^'(.+)' is not a date like .*$", "'{1}' 不是日期"),
        (r"^'(.+)' is not a time like .*$", "'{1}' 不是时间"),
        (
            r"^'(.+)' has two versions with the same version or effective_from.*$",
            "'{1}' 有两个版本的版本号或生效日期相同",
        ),
        (r"^not a real date$", "不是有效日期"),
        (r"^cannot read folder: (.+)$", "无法读取文件夹：{1}"),
        (r"^cannot read: (.+)$", "无法读取：{1}"),
        (
            r"^a symbolic link inside a folder is not followed.*$",
            "文件夹中的符号链接不跟随；如需判定，请直接给出其目标文件",
        ),
        (
            r"^not UTF-8: byte (0x[0-9a-f]+) at offset (\d+) of the line$",
            "不是 UTF-8 编码：该行第 {2} 字节处为 {1}",
        ),
        (
            r"^the policy changed during the run \(revision (.+), expected (.+)\); run again$",
            "运行期间规格已改变（修订 {1}，应为 {2}）；请重新运行",
        ),
        # alerts.yaml ladder, recipients and routes (procrules.alerts.policy)
        (r"^unknown role or recipient '(.+)'$", "未知的岗位或接收人 '{1}'"),
        (r"^'(.+)' is not a deadline of '(.+)'$", "'{1}' 不是流程 '{2}' 的时限"),
        (r"^unknown channel '(.+)'$", "未知的通知渠道 '{1}'"),
        (r"^level '(.+)' twice$", "级别 '{1}' 重复"),
        (
            r"^'(.*)' is not a repeat like .*$",
            "'{1}' 不是重复时间，应写如 'next working day 09:00' 或 '下一个工作日 09:00'",
        ),
        (r"^'(.+)' is not a window like .*$", "'{1}' 不是发送时段，应写如 08:30-17:30"),
        # serve: the case store and the service
        (r"^the case has no data yet$", "案件尚无数据"),
        (r"^the case has no case_id$", "案件缺少 case_id"),
        (r"^no case '(.+)' in the store$", "存储中没有案件 '{1}'"),
        (r"^the case is for '(.+)', the path for '(.+)'$", "案件属于 '{1}'，路径指定的是 '{2}'"),
        (r"^case_id differs from the path$", "case_id 与路径不一致"),
        (r"^a case id has 1 to 200 characters$", "案件编号应为 1 至 200 个字符"),
        (r"^lang must be zh or en$", "lang 只能是 zh 或 en"),
        (r"^status must be one of (.+)$", "status 必须是以下之一：{1}"),
        (r"^limit must be a whole number from 1 to (\d+)$", "limit 必须是 1 至 {1} 的整数"),
        (r"^the body is not UTF-8 text$", "请求体不是 UTF-8 文本"),
        (r"^(\d+) lines; at most (\d+)$", "共 {1} 行，最多 {2} 行"),
        (
            r"^idempotency key '(.+)' already names another event of this case$",
            "幂等键 '{1}' 已用于该案件的另一事件",
        ),
        (r"^events must be a list$", "events 必须是列表"),
        (r"^an event must be an object$", "事件必须是对象"),
        (r"^event must be a name of 1 to 200 characters$", "event 必须是 1 至 200 个字符的名称"),
        (r"^at must be a time$", "at 必须是时间"),
        (r"^(\w+) must be text of at most (\d+) characters$", "{1} 必须是不超过 {2} 个字符的文本"),
        (r"^not a cursor from this worklist$", "不是本工作清单的分页游标"),
        (r"^cannot open the store: (.+)$", "无法打开案件存储：{1}"),
        (r"^cannot reach the store: (.+)$", "无法访问案件存储：{1}"),
        (r"^the store's folder does not exist$", "案件存储所在的文件夹不存在"),
        (r"^not a database URL or a file path$", "不是数据库 URL，也不是文件路径"),
        (
            r"^the store is SQLite \(a file\) or PostgreSQL \(a URL\)$",
            "案件存储须为 SQLite（文件）或 PostgreSQL（URL）",
        ),
        (r"^the case store needs the server extra: (.+)$", "案件存储需要安装 server 扩展：{1}"),
        (r"^the server needs its extra: (.+)$", "服务需要安装 server 扩展：{1}"),
        (r"^a PostgreSQL store needs: (.+)$", "PostgreSQL 存储需要安装：{1}"),
        (
            r"^refusing to listen on (.+) without tokens .*$",
            "未配置令牌时拒绝在 {1} 上监听"
            "（请用 --tokens 或 $PROCRULES_TOKENS，或只监听 127.0.0.1）",
        ),
        (r"^cannot read the tokens file: (.+)$", "无法读取令牌文件：{1}"),
        (r"^cannot write the decision log: (.+)$", "无法写入决策日志：{1}"),
        (r"^cannot load the specs: (.+)$", "无法加载规则：{1}"),
        # alerts.yaml channels (procrules.alerts.channels.config)
        (r"^'(.+)' is not a rate like .*$", "'{1}' 不是发送频率，应写如 '20/min'"),
        (r"^environment variable '(.+)' is not set$", "环境变量 '{1}' 未设置"),
        (r"^'(.+)' is not an http:// or https:// address$", "'{1}' 不是 http:// 或 https:// 地址"),
        (r"^'(.+)' is not the name of an environment variable$", "'{1}' 不是环境变量名"),
        (r"^'(.+)' is empty$", "'{1}' 为空"),
        (r"^'(.+)' must be between (.+) and (.+)$", "'{1}' 必须在 {2} 到 {3} 之间"),
        (r"^'(.+)' must be 0 or more$", "'{1}' 不能小于 0"),
        (r"^'(.+)' must be more than 0$", "'{1}' 必须大于 0"),
        (r"^'(.+)' lists nothing$", "'{1}' 不能为空列表"),
        (r"^'ssl' and 'starttls' cannot both be true$", "'ssl' 与 'starttls' 不能同时为 true"),
        (r"^the (\w+) channel needs httpx: (.+)$", "{1} 渠道需要 httpx：{2}"),
        (r"^could not judge \((.+)\)$", "无法判定（{1}）"),
        (r"^not a regular file$", "不是普通文件"),
        (r"^larger than (\d+) bytes$", "超过 {1} 字节"),
        (r"^line longer than (\d+) bytes$", "该行超过 {1} 字节"),
        (r"^bad UTF-8 byte (.+)$", "无效的 UTF-8 字节 {1}"),
        (r"^(NaN|Infinity|-Infinity) is not a JSON number$", "{1} 不是 JSON 数字"),
        (r"^nested deeper than (\d+) levels$", "嵌套超过 {1} 层"),
        (r"^(key: )?a string longer than (\d+) characters$", "字符串超过 {2} 个字符"),
        (r"^(key: )?a lone surrogate (.+) in a string$", "字符串中有孤立的代理字符 {2}"),
        (r"^a number with more than (\d+) digits$", "数字超过 {1} 位"),
        (r"^number (.+) is out of range$", "数字 {1} 超出范围"),
        (r"^(.+) is not a finite number$", "{1} 不是有限数字"),
        (r"^more than (\d+) (events|documents|facts)$", "{2} 超过 {1} 项"),
        (r"^(.+) is outside the supported years (.+)$", "{1} 超出支持的年份范围 {2}"),
    ]
]


def _fill(template: str, match: re.Match[str]) -> str:
    """The template with {1}, {2}, ... replaced by the match's groups."""
    return re.sub(r"\{(\d)\}", lambda g: str(match.group(int(g.group(1)))), template)


@cache
def _patterns() -> list[tuple[re.Pattern[str], str]]:
    return [(re.compile(p), z) for p, z in _ZH_SOURCE]


def to_zh(message: str) -> str:
    for pattern, template in _patterns():
        m = pattern.match(message)
        if m:
            kind = _KINDS.get(m.group(1), "") if m.groups() else ""
            text = _fill(template, m)
            return text.replace("{kind}", kind).replace("{{", "{").replace("}}", "}")
    return f"格式错误：{message}"


def localise(message: str, lang: str) -> str:
    return to_zh(message) if lang == "zh" else message
