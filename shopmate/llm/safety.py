"""Output safety filter: what a store's assistant must never say, in zh and en.

Generated text is rejected when it contains
- insults or profanity, sexual content, or politics;
- a competitor (淘宝, 京东, Amazon, ...) named in the same sentence as a negative or
  comparative word: disparaging another store is a legal and brand risk, and the
  comparison is a claim the facts cannot back;
- an echo of its instructions (a long run of the system prompt, or words like "system
  prompt" / 系统提示词 / "ignore previous instructions"), chat-template tokens or role
  markers: signs that a prompt injection worked;
- something shaped like a secret (API keys, JWTs, private keys, a known secret value);
- an order / tracking / phone number, e-mail or URL that is not in the facts: it may be
  another shopper's data.

Word lists are short and conservative on purpose: a miss here is still caught by the
grounding check for anything factual, while a false hit only costs the template reply.
Political terms that appear in the facts themselves (a 政府补贴 promotion) are not held
against the output.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .grounding import find_identifiers

__all__ = ["SafetyResult", "check_safety"]


@dataclass(frozen=True)
class SafetyResult:
    ok: bool
    # insult, sexual, politics, competitor, prompt_leak, secret, foreign_identifier
    category: str | None = None


def _normalize(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).casefold().strip()


def _terms(words: str, patterns: Sequence[str] = ()) -> re.Pattern[str]:
    """One pattern for a comma-separated word list plus raw regexes. ASCII words get
    word boundaries ("dumb" is not "dumbbell"); Chinese has none to give."""
    parts = list(patterns)
    for word in sorted((w.strip() for w in words.split(",")), key=len, reverse=True):
        if not word:
            continue
        if word.isascii():
            parts.append(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])")
        else:
            parts.append(re.escape(word))
    return re.compile("|".join(parts), re.IGNORECASE)


# zh: 滚 / 操 / 垃圾 alone are also 滚筒, 操作, 垃圾袋, so only longer forms are listed.
_INSULTS = _terms(
    "傻逼, 傻b, 煞笔, 沙比, 白痴, 蠢货, 蠢猪, 笨蛋, 废物, 滚开, 滚蛋, 给我滚, 去死, 混蛋, 王八蛋,"
    "他妈, 操你, 草泥马, 脑残, 智障, 神经病, 贱人, 你是垃圾, 垃圾东西, 狗东西, 闭嘴, 弱智, 人渣,"
    "畜生, sb, nmsl, cnm,"
    "idiot, idiots, stupid, moron, morons, dumb, shut up, bitch, bastard, asshole, dickhead,"
    "loser, screw you, go to hell, piss off, jerk, scum, crap, damn, wtf, stfu",
    [r"(?<!妈)妈的", r"\bfuck\w*", r"\bshit\w*", r"\bretard\w*"],
)
_SEXUAL = _terms(
    "色情, 做爱, 性交, 裸体, 裸照, 黄片, 黄色网站, 约炮, 一夜情, 成人视频, 性服务, 嫖娼, 卖淫,"
    "援交, 口交, 自慰, av女优, 情色, 乱伦, 性爱,"
    "sex, sexual, sexually, nsfw, orgasm, blowjob, hooker, escort service, xxx, hentai,"
    "incest, onlyfans, naked photo, nude photo, nudes",
    [r"\bporn\w*", r"\berotic\w*", r"\bprostitut\w*", r"\bmasturbat\w*"],
)
_POLITICS = _terms(
    "政治, 共产党, 中共, 国民党, 民进党, 习近平, 毛泽东, 总书记, 国家主席, 台独, 港独, 藏独, 疆独,"
    "法轮功, 六四, 天安门事件, 民主运动, 游行, 示威, 抗议, 选举, 总统, 特朗普, 川普, 拜登, 普京,"
    "泽连斯基, 政府, 独裁, 政权,"
    "politics, political, politician, election, elections, president, prime minister,"
    "communist, democrat, democrats, republican, republicans, trump, biden, putin,"
    "xi jinping, zelensky, taiwan independence, tiananmen, protest, protests, parliament,"
    "congress, government, dictator, dictatorship, regime, falun gong"
)
_COMPETITORS = _terms(
    "淘宝, 天猫, 京东, 拼多多, 唯品会, 苏宁, 抖音商城, 快手, 亚马逊, 得物, 闲鱼, 当当, 阿里巴巴,"
    "taobao, tmall, jd, jd.com, jingdong, pinduoduo, pdd, temu, shein, aliexpress, amazon,"
    "ebay, walmart, costco, etsy, shopee, lazada"
)
# Negative or comparative words; only looked for in a sentence naming a competitor.
_NEGATIVE = _terms(
    "差, 烂, 垃圾, 假货, 骗, 坑, 不靠谱, 不如, 比不上, 劣质, 山寨, 水货, 黑心, 宰客, 不好, 太贵,"
    "更贵, 更便宜, 更好, 更快, 比, 别去, 不要去, 千万别,"
    "worse, worst, bad, terrible, fake, fakes, scam, scams, rip-off, ripoff, counterfeit,"
    "counterfeits, awful, sucks, inferior, junk, garbage, unreliable, overpriced,"
    "cheaper than, better than, faster than, avoid, don't buy, never buy, knockoff,"
    "knockoffs, unlike, poor, slow",
    [r"\bcheat\w*"],
)
_SENTENCE = re.compile(r"[^。！？!?;；\n]+(?:[。！？!?;；\n]|$)")

_LEAK_MARKERS = _terms(
    "system prompt, system message, my instructions, my prompt, i was instructed,"
    "i am instructed, previous instructions, above instructions, prior instructions,"
    "developer mode, jailbreak, jailbroken, dan mode, do anything now, i am dan, i'm dan,"
    "as dan, shopper_message,"
    "系统提示, 提示词, 系统指令, 系统消息, 忽略以上, 忽略之前, 忽略上面, 忽略前面, 开发者模式,"
    "越狱, 我的指令",
    [
        r"\bignor(?:e|ing) (?:all |the |any )?(?:previous|above|prior|earlier)",
        r"<\|[^|]{0,40}\|>",  # chat-template tokens
        r"\[/?inst\]",
        r"<</?sys>>",
        r"</?(?:system|facts?)>",
        r"(?m:^)\s*(?:system|assistant|user|developer)\s*:",  # role markers
        r"(?:系统|助手|用户|管理员)\s*[:：]",
    ],
)
_SECRET_PATTERNS = (
    re.compile(r"\bsk-[a-z0-9_-]{12,}", re.IGNORECASE),  # OpenAI-style keys
    re.compile(r"\beyJ[a-zA-Z0-9_-]{8,}\.[a-zA-Z0-9_-]{8,}"),  # JWTs
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),  # AWS access keys
    re.compile(r"\b(?:gh[pousr]|github_pat)_[A-Za-z0-9_]{20,}"),
    re.compile(r"\bxox[abpr]-[A-Za-z0-9-]{10,}"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"\b[0-9a-f]{32,}\b", re.IGNORECASE),  # hex digests / tokens
    # Long mixed-case alphanumeric runs: random tokens, not words or order numbers.
    re.compile(
        r"\b(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[a-z])(?=[A-Za-z0-9_-]*[A-Z])"
        r"[A-Za-z0-9_-]{24,}\b"
    ),
    # A credential named and given: "api key: ...", "密码是 ...".
    re.compile(
        r"(?:api[ _-]?key|apikey|secret|password|passwd|access[ _-]?token|bearer|"
        r"token|密码|密钥|口令|令牌)\s*(?:[:=：]|is|是|为)\s*(?=\S*[\d_\-])\S{6,}",
        re.IGNORECASE,
    ),
)

# A window this long that also occurs in the instructions is an echo of them, not a
# coincidence: 24 characters of English is four or five words in a row, 10 of Chinese
# a whole clause.
_ECHO_LATIN = 24
_ECHO_CJK = 10
_CJK = re.compile(r"[\u3400-\u9fff]")


def _windows(text: str, size: int) -> set[str]:
    return {text[i : i + size] for i in range(len(text) - size + 1)}


def _echoes(output: str, instructions: Sequence[str]) -> bool:
    out = _normalize(output)
    for instruction in instructions:
        source = _normalize(instruction)
        latin = _windows(source, _ECHO_LATIN)
        cjk = {w for w in _windows(source, _ECHO_CJK) if len(_CJK.findall(w)) >= _ECHO_CJK // 2}
        if latin & _windows(out, _ECHO_LATIN) or cjk & _windows(out, _ECHO_CJK):
            return True
    return False


def _disparages_competitor(text: str) -> bool:
    return any(
        _COMPETITORS.search(sentence) and _NEGATIVE.search(sentence)
        for sentence in _SENTENCE.findall(text)
    )


def _in_facts(pattern: re.Pattern[str], text: str, facts: str) -> bool:
    """True if ``pattern`` matches ``text`` somewhere the facts do not account for."""
    return any(m.group(0) not in facts for m in pattern.finditer(text))


def check_safety(
    output: str,
    *,
    facts: Sequence[str] = (),
    instructions: Sequence[str] = (),
    markers: Sequence[str] = (),
    secrets: Iterable[str] = (),
) -> SafetyResult:
    """Check generated ``output``. ``facts`` are the fact lines and the template (what the
    output may repeat), ``instructions`` the prompt text it must not echo, ``markers``
    short prompt headings it must not contain, ``secrets`` values (API keys) that must
    never appear."""
    text = _normalize(output)
    facts_text = _normalize("\n".join(facts))
    if _INSULTS.search(text):
        return SafetyResult(False, "insult")
    if _SEXUAL.search(text):
        return SafetyResult(False, "sexual")
    if _in_facts(_POLITICS, text, facts_text):
        return SafetyResult(False, "politics")
    if _disparages_competitor(text):
        return SafetyResult(False, "competitor")
    if (
        _LEAK_MARKERS.search(text)
        or _echoes(output, instructions)
        or any(_normalize(marker) in text for marker in markers if marker.strip())
    ):
        return SafetyResult(False, "prompt_leak")
    raw = unicodedata.normalize("NFKC", output)
    for secret in secrets:
        if len(secret) >= 4 and secret in raw:
            return SafetyResult(False, "secret")
    raw_facts = unicodedata.normalize("NFKC", "\n".join(facts))
    if any(_in_facts(pattern, raw, raw_facts) for pattern in _SECRET_PATTERNS):
        return SafetyResult(False, "secret")
    if find_identifiers(output) - find_identifiers("\n".join(facts)):
        return SafetyResult(False, "foreign_identifier")
    return SafetyResult(True)
