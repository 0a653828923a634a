"""Chinese shop chat: a lexicon of what shoppers say when pleased or fed up, with
negation, intensifiers, sarcasm and emoji, over snownlp's shopping-review model.

snownlp alone reads almost every question as negative ("请问有M码吗" scores 0.02): its
model knows reviews, not chat. So the lexicon decides whenever it finds a word it
knows, and snownlp only speaks, weighted down, when the lexicon found nothing.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from shopmate.sentiment import cues
from shopmate.sentiment.model import Sentiment

# Words and phrases with their weight (-3 .. 3). Longest match wins, so 不满意 is one
# negative word and not 不 + 满意.
# fmt: off
LEXICON: dict[str, float] = {
    # fed up, insulted, cheated
    "垃圾": -3, "坑": -2.5, "坑人": -3, "被坑": -3, "骗子": -3, "骗人": -3, "欺骗": -3,
    "差评": -2.5, "差劲": -3, "太差": -3, "很差": -2.5, "真差": -2.5, "好差": -2.5,
    "质量差": -2.5, "态度差": -2.5, "服务差": -2.5, "差": -1.5, "烂": -2.5, "稀烂": -3,
    "失望": -2.5, "无语": -2.5, "气死": -3, "生气": -2.5, "愤怒": -3, "恶心": -3,
    "火大": -3, "烦死": -3, "心累": -2, "崩溃": -2.5, "郁闷": -2, "糟糕": -2.5,
    "糟心": -2.5, "离谱": -2.5, "过分": -2.5, "不爽": -2.5, "不满": -2.5, "不满意": -2.5,
    "不好": -2, "不行": -0.6, "不靠谱": -2.5, "不负责": -2.5, "不专业": -2.5,
    "忽悠": -2.5, "黑心": -3, "无良": -3, "奸商": -3, "什么玩意": -3, "什么破": -3,
    "搞什么": -2.5, "受不了": -2.5, "吐了": -2, "醉了": -2, "服了": -1.5, "呵呵": -1.5,
    "滚": -3, "傻": -2.5, "智障": -3, "废物": -3, "敷衍": -2.5, "推脱": -2,
    "踢皮球": -2.5, "恶劣": -3, "后悔": -2, "难用": -2, "难看": -2, "丑": -2,
    "投诉": -2, "举报": -2, "曝光": -2, "维权": -2, "消协": -2, "12315": -2.5,
    "还我钱": -3, "退钱": -1.5,
    # what went wrong
    "破损": -2, "破洞": -2, "破了": -2, "碎了": -2, "坏了": -2, "损坏": -2, "坏的": -2,
    "假货": -3, "假的": -2, "山寨": -2.5, "掉色": -2, "褪色": -2, "起球": -2,
    "开线": -2, "脱线": -2, "开胶": -2, "色差": -1.5, "有味道": -1.5, "异味": -2,
    "发错": -2, "寄错": -2, "少发": -2, "漏发": -2, "错发": -2, "不对版": -2,
    "货不对板": -2.5, "多扣": -2, "乱扣": -2.5, "重复扣": -2, "扣了两次": -2,
    "慢死": -3, "太慢": -2.5, "好慢": -2, "真慢": -2, "很慢": -2, "磨蹭": -2,
    "还没到": -1.5, "还没发": -1.5, "还没收到": -1.5, "还不发": -2, "一直没": -1.5,
    "等了": -1, "半个月": -1, "没人管": -2.5, "没人理": -2.5, "不回复": -2,
    "不理人": -2.5, "凭什么": -2.5, "到底": -1, "怎么还": -1.5, "怎么又": -2,
    "又是": -0.5, "太麻烦": -2, "好麻烦": -2, "真麻烦": -2, "上当": -2.5,
    "不值": -2, "浪费": -2, "坑爹": -3, "蛋疼": -2, "闹心": -2.5,
    # pleased
    "好评": 2.5, "五星": 2.5, "满意": 2, "喜欢": 2, "爱了": 2.5, "爱死": 2.5,
    "谢谢": 1.5, "感谢": 2, "多谢": 1.5, "谢啦": 1.5, "辛苦了": 1.5, "辛苦": 1,
    "给力": 2.5, "靠谱": 2, "棒": 2.5, "赞": 2, "点赞": 2, "不错": 2, "挺好": 2,
    "很好": 2, "真好": 2, "太好了": 2.5, "好用": 2, "好看": 2, "漂亮": 2, "舒服": 2,
    "合身": 1.5, "开心": 2.5, "高兴": 2, "惊喜": 2.5, "完美": 2.5, "优秀": 2,
    "厉害": 2, "绝了": 2, "yyds": 3, "666": 2, "牛": 2, "神速": 2.5, "很快": 1.5,
    "挺快": 1.5, "真快": 1.5, "好快": 1.5, "超快": 2, "质量好": 2, "质量不错": 2.5,
    "物美价廉": 2.5, "划算": 1.5, "值得": 1.5, "实惠": 1.5, "耐心": 1.5, "热情": 1.5,
    "周到": 2, "贴心": 2, "专业": 1.5, "解决了": 1.5, "搞定": 1.5, "放心": 1.5,
    "回购": 2, "强烈推荐": 2.5, "值得推荐": 2.5, "种草": 1.5, "nice": 2, "完美解决": 3,
    "么么哒": 2, "爱你": 2, "好棒": 2.5, "超好": 2.5, "这么好": 2, "好很多": 2,
    "真香": 2.5, "太香": 2.5, "绝绝子": 3, "不亏": 2, "赚到": 2, "闭眼入": 2.5, "爱住": 2.5,
    "没话说": 2.5, "没毛病": 2, "毛病都没有": 2.5, "松了一口气": 2, "有面子": 2, "用心": 2,
    "效率高": 2, "效率很高": 2.5, "秒发": 1.5, "秒回": 1.5, "秒开": 1.5, "省心": 2,
    # shop slang for being let down
    "踩雷": -2.5, "智商税": -2.5, "割韭菜": -3, "翻车": -2.5, "拉胯": -2.5, "感人": -1.5,
    "闭着眼睛": -1.5, "再也不": -2.5, "从来没见过这么": -2.5, "根本": -1.5, "不准": -1.5,
    "碎": -1.5, "少了": -1.5, "没收到": -1.5, "看不懂": -1, "不能接受": -2.5,
    "接受不了": -2.5, "准话": -1, "什么鬼": -2.5, "什么情况": -1.5, "合理吗": -2,
    "说好的": -1.5, "慢": -1, "也敢卖": -3, "一整天": -1, "一个月": -1, "还没": -1.5,
    "才回": -1.5, "这就是你们说的": -2, "谢谢你们全家": -3, "真是谢谢": -2.5,
    "问了三遍": -2, "问了几遍": -2, "好几遍": -1.5, "几次了": -1.5,
}
# fmt: on
# Before a word, within its clause: they turn it around (不差 is praise, 不满意 again
# turned by 不是 is not a complaint).
# fmt: off
NEGATORS = ("一点也不", "一点都不", "并不", "不是", "不太", "不怎么", "不够", "毫不",
            "没有", "没", "不", "别", "无")
INTENSIFIERS = ("非常", "特别", "超级", "极其", "太", "超", "真", "很", "巨", "贼", "好", "死")
FILLERS = ("让我", "让人", "令人", "叫人", "给我", "我", "有", "是", "会", "得", "那么", "这么")
# Longest first, so 特别 is an intensifier and not 特 + 别 ("don't").
MODIFIERS = sorted((*NEGATORS, *INTENSIFIERS, *FILLERS), key=len, reverse=True)
SUFFIX_INTENSIFIERS = ("死了", "透了", "极了", "爆了", "到家了")
# Words whose characters contain a lexicon word but mean something else.
NOT_SENTIMENT = ("差价", "差额", "差不多", "相差", "差几", "差一", "麻烦你", "麻烦您",
                 "麻烦帮", "好的", "好吧", "坏账", "投诉电话", "投诉渠道", "怎么投诉",
                 "不错过", "推荐", "垃圾袋", "没问题吗", "慢慢", "慢跑", "慢回弹")
# "充不进电", "打不开", "穿不上": it does not work.
BROKEN = re.compile(r"[打开充穿用登装关连启按插拉]不(?:了|上|进|开|动|亮|起来|出)")
CONTRAST = ("但是", "不过", "可是", "然而", "就是", "只是", "但")
HOW_TO = re.compile(
    r"怎么(?:申请|买|办|弄|操作|退|换|开|填|查|选|用)"
    r"|如何|怎样|哪里|哪儿|在哪|多久|几天|是否|能否|能不能|有没有"
)
# Patterns that turn praise into sarcasm: quoted praise ('快'), "真是太X了" beside a
# complaint, "谢谢你们啊" then a problem.
QUOTED = re.compile(r"[\"“”'‘’「」『』]([^\"“”'‘’「」『』]{1,4})[\"“”'‘’「」『』]")
SARCASM_MARKERS = ("真是太", "可真", "真行", "好一个", "真有你的", "太棒了吧", "呵呵", "厉害了")
EXASPERATION = ("怎么还", "为什么", "到底", "凭什么", "什么时候才", "还要等", "怎么回事",
                "根本", "说好的")
CLAUSE_BREAK = re.compile(r"[，。！？,.!?；;\s~～…]")
HAN = re.compile(r"[\u4e00-\u9fff]")
MAX_CHARS = 1000  # longer messages are read by their beginning
# fmt: on


@dataclass(frozen=True)
class Hit:
    start: int
    end: int
    weight: float


class ChineseSentiment:
    """Lexicon first, snownlp where the lexicon is silent."""

    def __init__(self, use_snownlp: bool = True) -> None:
        self.use_snownlp = use_snownlp
        self._snownlp: Any = None
        self._lock = threading.Lock()
        self._words = sorted(LEXICON, key=len, reverse=True)

    def warm_up(self) -> None:
        if self.use_snownlp:
            self._snownlp_class()

    def _snownlp_class(self) -> Any:
        if self._snownlp is None:
            with self._lock:
                if self._snownlp is None:
                    from snownlp import SnowNLP  # loads its models: about 4 s

                    self._snownlp = SnowNLP
        return self._snownlp

    def snownlp_score(self, text: str) -> float:
        """snownlp's probability of praise mapped onto [-1, 1]."""
        if not HAN.search(text):
            return 0.0
        probability = float(self._snownlp_class()(text[:MAX_CHARS]).sentiments)
        return 2.0 * probability - 1.0

    def analyse(self, text: str) -> Sentiment:
        text = text[:MAX_CHARS]
        masked = _mask(text.lower(), NOT_SENTIMENT)
        hits = list(self._hits(masked))
        hits += [Hit(m.start(), m.end(), -1.5) for m in BROKEN.finditer(masked)]
        question = cues.is_question(text) or HOW_TO.search(text) is not None
        exasperated = cues.exclaims(text) or any(w in text for w in EXASPERATION)
        contrast = max((masked.rfind(w) for w in CONTRAST), default=-1)
        weights = []
        for hit in hits:
            weight = hit.weight * _modifier(masked, hit)
            if question and not exasperated:
                # "质量好吗" asks; it does not praise. "投诉的入口在哪里" asks too.
                weight *= 0.2
            if contrast >= 0 and hit.start < contrast:
                weight *= 0.3  # "谢谢回复，但是……": what follows 但是 is what they mean
            weights.append(weight)
        negative = sum(w for w in weights if w < 0)
        positive = sum(w for w in weights if w > 0)
        if negative and positive:
            # Support chat: thanks beside a problem is politeness or sarcasm
            # ("好棒哦，收到一个碎的花瓶"); the problem is what the shopper feels.
            positive *= 0.3 if not _sarcastic(text) else 0.0
            negative -= 1.0 if _sarcastic(text) else 0.0
        total = negative + positive + cues.emoji_score(text)
        if cues.has_laughing_emoji(text) and negative:
            total -= 1.0
        if QUOTED.search(text) and any(
            LEXICON.get(m.group(1), 0) > 0 or m.group(1) in ("快", "好", "棒", "正品")
            for m in QUOTED.finditer(text)
        ):
            total = min(total, 0.0) - 2.0  # '快' in quotes is never praise
        if total < 0 and exasperated:
            total *= 1.4
        elif not hits and question and cues.REPEATED_MARKS.search(text) and "？？？" in text:
            total -= 1.0  # "人呢？？？"
        if not hits and total == 0.0 and self.use_snownlp and not question:
            # The lexicon knows nothing here: snownlp's review model, damped, speaks
            # only when it is sure of praise (it reads plain requests as complaints).
            score = self.snownlp_score(text)
            return Sentiment.of(score * 0.4 if score > 0.9 else 0.0)
        return Sentiment.of(math.tanh(total / 3.0))

    def _hits(self, text: str) -> Iterator[Hit]:
        position = 0
        while position < len(text):
            for word in self._words:
                if text.startswith(word, position):
                    yield Hit(position, position + len(word), float(LEXICON[word]))
                    position += len(word)
                    break
            else:
                position += 1


def _mask(text: str, phrases: tuple[str, ...]) -> str:
    for phrase in phrases:
        text = text.replace(phrase, "□" * len(phrase))
    return text


def _clause_before(text: str, start: int) -> str:
    before = text[max(0, start - 6) : start]
    parts = CLAUSE_BREAK.split(before)
    return parts[-1] if parts else ""


def _modifier(text: str, hit: Hit) -> float:
    """How the words just before a lexicon word turn or strengthen it: 不/没 (odd counts
    turn it round), 太/非常 (each ×1.4), and 让我/令人 between them ("没让我失望")."""
    rest = _clause_before(text, hit.start)
    factor, negations = 1.0, 0
    while rest:
        modifier = next((m for m in MODIFIERS if rest.endswith(m)), None)
        if modifier is None:
            break
        rest = rest[: -len(modifier)]
        if modifier in NEGATORS:
            negations += 1
        elif modifier in INTENSIFIERS:
            factor *= 1.4
    if any(text.startswith(s, hit.end) for s in SUFFIX_INTENSIFIERS):
        factor *= 1.4
    if negations % 2:
        # 不满意 turned again (不是不满意) is not a complaint; 不差 is mild praise.
        factor *= -0.6
    return factor


def _sarcastic(text: str) -> bool:
    return any(marker in text for marker in SARCASM_MARKERS) or cues.has_laughing_emoji(text)
