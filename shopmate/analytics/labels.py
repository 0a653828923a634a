"""The report's words, in Chinese and English (the report's, not the bot's speech)."""

from __future__ import annotations

TEXT: dict[str, tuple[str, str]] = {
    "title": ("店铺洞察：会话分析", "Store insight: conversation analytics"),
    "window": ("时间范围", "Period"),
    "all_time": ("全部", "all time"),
    "generated": ("生成时间", "Generated"),
    "overview": ("概览", "Overview"),
    "conversations": ("会话数", "Conversations"),
    "messages": ("顾客消息数", "Shopper messages"),
    "containment": ("自助解决率", "Containment"),
    "handoff_rate": ("转人工率", "Handoff rate"),
    "fallback_rate": ("未理解率", "Fallback rate"),
    "first_reply": ("人工首次回复（中位数）", "First agent reply (median)"),
    "rating": ("平均满意度", "Mean satisfaction"),
    "cart_conversion": ("搜索→加购转化", "Search → cart conversion"),
    "per_day": ("每日会话", "Conversations per day"),
    "per_channel": ("各渠道会话", "Conversations per channel"),
    "languages": ("语言分布", "Language split"),
    "intents": ("最常见意图", "Top intents"),
    "fallbacks": ("未理解（兜底）", "Fallbacks"),
    "fallback_text": (
        "意图为 nlu_fallback，或机器人以 action_default_fallback / "
        "action_answer_fallback 回答的顾客消息。",
        "Shopper messages whose intent was nlu_fallback, or that the bot answered with "
        "action_default_fallback / action_answer_fallback.",
    ),
    "conversations_with_fallback": ("含未理解消息的会话", "Conversations with a fallback"),
    "handoffs": ("自助解决与转人工", "Containment and handoffs"),
    "handed_over": ("转人工会话", "Conversations handed to a person"),
    "ticket_only": ("仅建工单（投诉）未转接", "Ticket (complaint) without a handoff"),
    "contained": ("自助解决会话", "Contained conversations"),
    "reasons": ("转人工/工单原因", "Handoff and ticket reasons"),
    "categories": ("投诉类别", "Complaint categories"),
    "tickets": ("工单", "Tickets"),
    "first_reply_title": ("人工首次回复时间", "Time to the first agent reply"),
    "agent_replied": ("有人工回复的会话", "Conversations an agent answered"),
    "median": ("中位数", "median"),
    "p90": ("90 分位", "p90"),
    "p95": ("95 分位", "p95"),
    "minutes": ("分钟", "minutes"),
    "seconds": ("秒", "s"),
    "sentiment": ("会话中的情绪变化", "Sentiment across a conversation"),
    "sentiment_text": (
        "按顾客第几条消息统计的平均情绪分（-1 最负面，1 最正面；第 10 条及以后合并）。",
        "Mean sentiment score by the shopper's n-th message (-1 most negative, 1 most "
        "positive; the 10th and later together).",
    ),
    "improved": ("情绪变好", "Mood improved"),
    "worsened": ("情绪变差", "Mood worsened"),
    "labels": ("情绪标签", "Sentiment labels"),
    "funnel": ("搜索 → 详情 → 加购 漏斗", "Search → detail → cart funnel"),
    "searched": ("搜索过商品", "Searched"),
    "detailed": ("搜索后看了详情", "Viewed a detail after searching"),
    "carted": ("看详情后加入购物车", "Added to cart after a detail"),
    "offers": ("优惠券推荐", "Coupons suggested"),
    "offers_text": (
        "action_best_offer 运行次数 / 涉及会话",
        "action_best_offer runs / conversations",
    ),
    "after_sales": ("售后结果", "After-sales outcomes"),
    "cancellations": ("取消的订单", "Orders cancelled"),
    "returns_by_reason": ("退货（按原因）", "Returns by reason"),
    "returns_by_status": ("退货（按状态）", "Returns by status"),
    "exchanges_by_status": ("换货（按状态）", "Exchanges by status"),
    "refunds_by_status": ("退款（按状态）", "Refunds by status"),
    "refunded": ("退款总额", "Refunded"),
    "refusals": ("机器人拒绝（按原因）", "Refusals by reason"),
    "done_in_chat": ("在对话中完成", "Done in the chat"),
    "satisfaction": ("满意度", "Satisfaction"),
    "ticket_ratings": ("工单评分", "Ticket ratings"),
    "chat_ratings": ("对话评分（rate_service）", "Chat ratings (rate_service)"),
    "latency": ("动作耗时（95 分位）", "Action latency (p95)"),
    "latency_text": (
        "从动作前一事件（顾客消息或上一个动作）到该动作事件的时间。",
        "From the event before an action (the shopper's message or the previous action) "
        "to the action's own event.",
    ),
    "turn_latency": ("整轮回复耗时", "Whole-turn latency"),
    "least": ("机器人最不理解的消息", "Messages the bot understood least"),
    "least_text": (
        "意图置信度最低的顾客消息（已脱敏：数字、邮箱、地址），可作为新的训练数据。",
        "Shopper messages with the lowest intent confidence (masked: digits, e-mails, "
        "addresses): candidates for new training data.",
    ),
    "confidence": ("置信度", "Confidence"),
    "intent": ("意图", "Intent"),
    "text": ("消息", "Message"),
    "conversation": ("会话（哈希）", "Conversation (hash)"),
    "count": ("数量", "Count"),
    "value": ("数值", "Value"),
    "none": ("无数据", "no data"),
    "definitions": ("定义", "Definitions"),
    "def_conversation": (
        "会话：Rasa 的一个会话（session_started 开始新会话），且顾客至少发过一条消息。",
        "Conversation: one Rasa session (session_started starts a new one) in which the "
        "shopper wrote at least once.",
    ),
    "def_containment": (
        "自助解决率：没有转人工（action_handoff 或会话暂停）且期间没有创建工单"
        "（投诉交给人工）的会话占比，"
        "与大型客服平台的 containment / 自助解决率一致。",
        "Containment: the share of conversations with no handoff (action_handoff or the "
        "conversation paused for a person) and no ticket filed during it (a complaint "
        "queued for a person): resolved without a person, as big helpdesks count it.",
    ),
    "def_handoff": (
        "转人工率：转人工会话占全部会话的比例；原因来自工单的 reason 字段。",
        "Handoff rate: conversations handed to a person over all conversations; the "
        "reasons are the tickets' reason field.",
    ),
    "def_first_reply": (
        "人工首次回复时间：从会话暂停（转人工）到第一条带 metadata.agent 的机器人消息。",
        "Time to the first agent reply: from the pause (the handoff) to the first bot "
        "message whose metadata names an agent.",
    ),
    "def_funnel": (
        "漏斗：运行过 action_search_products 的会话；其中之后运行 action_product_detail 的；"
        "其中再之后运行 action_add_to_cart 的。",
        "Funnel: conversations that ran action_search_products; of those, the ones that "
        "then ran action_product_detail; of those, the ones that then ran action_add_to_cart.",
    ),
    "def_privacy": (
        "隐私：会话编号为带密钥的 HMAC 哈希；消息中的数字、邮箱与地址均已遮盖。",
        "Privacy: conversation ids are keyed HMAC hashes; digits, e-mails and addresses "
        "in messages are masked.",
    ),
    "language_switch": ("语言", "Language"),
}
