/*
 * ShopMate chat widget: talks to Rasa's socketio channel (credentials.yml).
 * Plain ES2019, no build step, no HTML parsing of data: every text from the bot, the shopper or
 * the catalog goes in through textContent, every URL through safeUrl (http/https only).
 *
 * Embedding: one tag on any page of the shop (docs/channels.md)
 *   <script src="https://shop.example/widget.js" defer
 *           data-rasa="https://chat.shop.example" data-lang="zh"
 *           data-product="P00012" data-product-title="真丝连衣裙"></script>
 * builds the launcher and the panel (unless the page has its own #shopmate-panel),
 * loads widget.css and the Socket.IO client from the script's own origin and asks that
 * origin for the conversation (/session), its history (/history) and, without
 * data-rasa, for Rasa's address (/config.json). Elements with data-shopmate-open
 * open the chat (the product page's "Ask about this product").
 *
 * Protocol: the page's server issues a conversation (POST /session → {session_id,
 * session_token}, signed there); on connect emit "session_request" {session_id,
 * session_token}; Rasa answers "session_confirm", or "session_rejected" for a token it
 * does not accept (expired, forged), and the widget then asks for a new one. The
 * shopper sends "user_uttered" {message, session_id, metadata: {customer_token?,
 * page_product?}}; the bot answers with "bot_uttered": Rasa's {text, quick_replies?,
 * buttons?, attachment?} or a rich message {text, shopmate: PAYLOAD}
 * (shopmate/payloads.py: carousel, product_card, order_card, rating).
 */
(function () {
  "use strict";

  if (window.ShopMateWidget && window.ShopMateWidget.loaded) return; // one per page

  var SESSION_KEY = "shopmate.session";
  var OPEN_KEY = "shopmate.open";
  var TYPING_TIMEOUT_MS = 30000;
  var HISTORY_WAIT_MS = 4000;
  var CONFIG_RETRY_MS = [1000, 3000, 10000, 30000];
  var CJK = /[\u3400-\u9fff\uf900-\ufaff]/;
  var LATIN_WORD = /[A-Za-z]{2,}/;
  var URL_IN_TEXT = /https?:\/\/[^\s<>"'）)\]]+/g;
  var PRODUCT_CODE = /^[A-Za-z0-9_-]{1,16}$/;
  var RATING_INTENT = "/rate_service";

  var TEXT = {
    zh: {
      title: "ShopMate 助手",
      subtitle: "商品 · 订单 · 售后",
      open: "打开 ShopMate 助手",
      close: "关闭 ShopMate 助手",
      closeShort: "关闭",
      conversation: "对话",
      placeholder: "输入消息…",
      message: "消息",
      send: "发送",
      typing: "助手正在输入…",
      reconnecting: "连接中断，正在重试…",
      offline: "网络已断开，消息会在恢复后发送。",
      unavailable: "助手暂时无法使用，请稍后再试。",
      pending: "待发送",
      hint: "您好！可以问我商品、尺码、运费、退换货或订单。",
      asking: "正在咨询：",
      products: "商品",
      addToCart: "加入购物车",
      soldOut: "售罄",
      rating: "评分",
      rate: "为本次服务评分",
      star: function (n) { return n + " 星"; },
      order: "订单",
      placedAt: "下单时间",
      total: "合计",
      carrier: "快递",
      items: "商品",
      tracking: "物流轨迹",
      imageLink: "查看图片",
      fileLink: "打开链接",
      assistant: "助手：",
      count: function (n) { return n + " 件商品"; },
      status: {
        pending_payment: "待付款",
        paid: "已付款",
        shipped: "已发货",
        in_transit: "运输中",
        delivered: "已签收",
        cancelled: "已取消",
        returned: "已退货",
      },
    },
    en: {
      title: "ShopMate Assistant",
      subtitle: "Products · orders · returns",
      open: "Open the ShopMate assistant",
      close: "Close the ShopMate assistant",
      closeShort: "Close",
      conversation: "Conversation",
      placeholder: "Type a message…",
      message: "Message",
      send: "Send",
      typing: "The assistant is typing…",
      reconnecting: "Connection lost, retrying…",
      offline: "You are offline; messages will be sent when you are back.",
      unavailable: "The assistant is unavailable, please try again later.",
      pending: "Not sent yet",
      hint: "Hi! Ask me about products, sizes, shipping, returns or your order.",
      asking: "Asking about: ",
      products: "Products",
      addToCart: "Add to cart",
      soldOut: "Sold out",
      rating: "Rating",
      rate: "Rate this conversation",
      star: function (n) { return n + (n === 1 ? " star" : " stars"); },
      order: "Order",
      placedAt: "Placed",
      total: "Total",
      carrier: "Carrier",
      items: "Items",
      tracking: "Tracking",
      imageLink: "View image",
      fileLink: "Open link",
      assistant: "Assistant: ",
      count: function (n) { return n + (n === 1 ? " product" : " products"); },
      status: {
        pending_payment: "Awaiting payment",
        paid: "Paid",
        shipped: "Shipped",
        in_transit: "In transit",
        delivered: "Delivered",
        cancelled: "Cancelled",
        returned: "Returned",
      },
    },
  };

  /* ---------- where the widget comes from, and what the page asks of it ---------- */

  function ownScript() {
    if (document.currentScript) return document.currentScript;
    var scripts = document.querySelectorAll("script[src]");
    for (var i = scripts.length - 1; i >= 0; i -= 1) {
      if (/widget\.js(\?|#|$)/.test(scripts[i].src)) return scripts[i];
    }
    return null;
  }

  var script = ownScript();
  var data = (script && script.dataset) || {};
  var BASE = new URL(script && script.src ? script.src : window.location.href, window.location.href);

  function endpoint(path, override) {
    return new URL(override || path, BASE).href;
  }

  function pageLanguage() {
    var lang = data.lang || document.documentElement.lang || "zh";
    return /^en\b/i.test(lang) ? "en" : "zh";
  }

  var options = {
    rasaUrl: typeof data.rasa === "string" && data.rasa ? data.rasa : null,
    socketPath: data.socketPath || "/socket.io/",
    configUrl: endpoint("/config.json", data.config),
    sessionUrl: endpoint("/session", data.sessionUrl),
    historyUrl: data.history === "off" ? null : endpoint("/history", data.historyUrl),
    cssUrl: data.css === "none" ? null : endpoint("/static/widget.css", data.css),
    ioUrl: endpoint("/vendor/socket.io.min.js", data.socketIo),
    product: PRODUCT_CODE.test(data.product || "") ? data.product : null,
    productTitle: { zh: data.productTitle || "", en: data.productTitleEn || data.productTitle || "" },
  };

  var state = {
    lang: pageLanguage(),
    socket: null,
    connecting: false,
    ready: false,
    outbox: [],
    // The last message sent and not yet answered: sent again, with the same id, after
    // a reconnect (an instance that died mid-turn); the server answers it once.
    unanswered: null,
    typing: null,
    typingTimer: 0,
    sessionId: null,
    session: null,
    notice: null,
    history: Promise.resolve(),
  };

  var els = {};

  function t(key) {
    return TEXT[state.lang][key];
  }

  /* ---------- DOM helpers (text only) ---------- */

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function svgIcon(className, paths, size) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", String(size));
    svg.setAttribute("height", String(size));
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    if (className) svg.setAttribute("class", className);
    paths.forEach(function (spec) {
      var node = document.createElementNS(ns, spec[0]);
      Object.keys(spec[1]).forEach(function (name) {
        node.setAttribute(name, spec[1][name]);
      });
      svg.appendChild(node);
    });
    return svg;
  }

  var CROSS = [["path", { d: "M6 6l12 12M18 6L6 18", stroke: "currentColor", "stroke-width": "2.2", "stroke-linecap": "round", fill: "none" }]];
  var BUBBLE = [
    ["path", { d: "M4 4h16a2 2 0 012 2v10a2 2 0 01-2 2H8l-4 4V6a2 2 0 012-2z", fill: "currentColor" }],
    ["circle", { cx: "8.5", cy: "11", r: "1.3", fill: "#fff" }],
    ["circle", { cx: "12", cy: "11", r: "1.3", fill: "#fff" }],
    ["circle", { cx: "15.5", cy: "11", r: "1.3", fill: "#fff" }],
  ];
  var PLANE = [["path", { d: "M3.4 20.4l17.45-7.48a1 1 0 000-1.84L3.4 3.6a.99.99 0 00-1.39.91L2 9.12c0 .5.37.93.87.99L17 12 2.87 13.88c-.5.07-.87.5-.87 1l.01 4.61c0 .71.73 1.2 1.39.91z", fill: "currentColor" }]];

  // The launcher and the panel, unless the page brought its own (same ids).
  function buildDom() {
    var root = el("div", "shopmate-widget");
    root.id = "shopmate-widget";

    var launcher = el("button", "shopmate-launcher");
    launcher.id = "shopmate-launcher";
    launcher.type = "button";
    launcher.setAttribute("aria-controls", "shopmate-panel");
    launcher.setAttribute("aria-expanded", "false");
    launcher.appendChild(svgIcon("shopmate-launcher__open", BUBBLE, 28));
    launcher.appendChild(svgIcon("shopmate-launcher__close", CROSS, 26));
    var badge = el("span", "shopmate-launcher__badge");
    badge.setAttribute("aria-hidden", "true");
    launcher.appendChild(badge);

    var panel = el("section", "shopmate-panel");
    panel.id = "shopmate-panel";
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-labelledby", "shopmate-title");
    panel.setAttribute("data-ready", "false");
    panel.hidden = true;

    var header = el("header", "shopmate-panel__header");
    var heading = el("div", "shopmate-panel__heading");
    var title = el("h2", "shopmate-panel__title");
    title.id = "shopmate-title";
    var subtitle = el("p", "shopmate-panel__subtitle");
    subtitle.id = "shopmate-subtitle";
    heading.appendChild(title);
    heading.appendChild(subtitle);
    var close = el("button", "shopmate-panel__close");
    close.id = "shopmate-close";
    close.type = "button";
    close.appendChild(svgIcon("", CROSS, 20));
    header.appendChild(heading);
    header.appendChild(close);

    var notice = el("div", "shopmate-notice");
    notice.id = "shopmate-notice";
    notice.setAttribute("role", "status");
    notice.hidden = true;

    var context = el("p", "shopmate-context");
    context.id = "shopmate-context";
    context.hidden = true;

    var messages = el("div", "shopmate-messages");
    messages.id = "shopmate-messages";
    var hint = el("p", "shopmate-hint");
    hint.id = "shopmate-hint";
    messages.appendChild(hint);

    var form = el("form", "shopmate-form");
    form.id = "shopmate-form";
    form.setAttribute("autocomplete", "off");
    var input = el("input", "shopmate-input");
    input.id = "shopmate-input";
    input.type = "text";
    input.maxLength = 1000;
    input.setAttribute("enterkeyhint", "send");
    var send = el("button", "shopmate-send");
    send.id = "shopmate-send";
    send.type = "submit";
    send.appendChild(svgIcon("", PLANE, 20));
    form.appendChild(input);
    form.appendChild(send);

    panel.appendChild(header);
    panel.appendChild(notice);
    panel.appendChild(context);
    panel.appendChild(messages);
    panel.appendChild(form);
    // The launcher first: Tab goes from it into the open panel.
    root.appendChild(launcher);
    root.appendChild(panel);
    root.hidden = Boolean(options.cssUrl); // shown once its styles are in
    document.body.appendChild(root);
    return root;
  }

  function loadStyles(root) {
    var present = Array.prototype.some.call(
      document.querySelectorAll('link[rel="stylesheet"]'),
      function (link) { return /widget\.css(\?|#|$)/.test(link.href); }
    );
    if (!options.cssUrl || present) {
      root.hidden = false;
      return;
    }
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = options.cssUrl;
    function show() { root.hidden = false; }
    link.addEventListener("load", show);
    link.addEventListener("error", show);
    document.head.appendChild(link);
  }

  function findDom() {
    var root = document.getElementById("shopmate-widget");
    if (!document.getElementById("shopmate-panel")) root = buildDom();
    loadStyles(root || document.body);
    els = {
      root: root,
      launcher: document.getElementById("shopmate-launcher"),
      panel: document.getElementById("shopmate-panel"),
      title: document.getElementById("shopmate-title"),
      subtitle: document.getElementById("shopmate-subtitle"),
      close: document.getElementById("shopmate-close"),
      notice: document.getElementById("shopmate-notice"),
      context: document.getElementById("shopmate-context"),
      messages: document.getElementById("shopmate-messages"),
      hint: document.getElementById("shopmate-hint"),
      form: document.getElementById("shopmate-form"),
      input: document.getElementById("shopmate-input"),
      send: document.getElementById("shopmate-send"),
    };
    // The conversation is a region to read (and scroll with the keyboard); new bot
    // messages are announced once, by the live region below, not the whole log again.
    els.messages.setAttribute("role", "log");
    els.messages.setAttribute("aria-live", "off");
    els.messages.setAttribute("tabindex", "0");
    var live = el("div", "shopmate-sr");
    live.id = "shopmate-live";
    live.setAttribute("aria-live", "polite");
    live.setAttribute("aria-atomic", "false");
    // Named by aria-describedby of a message not sent yet; never read on its own.
    var pending = el("span", "shopmate-sr");
    pending.id = "shopmate-pending";
    pending.hidden = true;
    els.panel.appendChild(live);
    els.panel.appendChild(pending);
    els.live = live;
    els.pending = pending;
    return Boolean(els.launcher && els.panel && els.messages && els.input && els.send && els.form);
  }

  /* ---------- language of the widget's own words ---------- */

  function detectLanguage(text) {
    if (typeof text !== "string") return null;
    if (CJK.test(text)) return "zh";
    if (LATIN_WORD.test(text)) return "en";
    return null;
  }

  function applyLanguage() {
    var lang = state.lang;
    var open = !els.panel.hidden;
    els.panel.setAttribute("lang", lang === "en" ? "en" : "zh-CN");
    els.launcher.setAttribute("lang", lang === "en" ? "en" : "zh-CN");
    els.launcher.setAttribute("aria-label", open ? t("close") : t("open"));
    if (els.title) els.title.textContent = t("title");
    if (els.subtitle) els.subtitle.textContent = t("subtitle");
    if (els.close) els.close.setAttribute("aria-label", t("close"));
    if (els.hint) els.hint.textContent = t("hint");
    els.messages.setAttribute("aria-label", t("conversation"));
    els.input.setAttribute("placeholder", t("placeholder"));
    els.input.setAttribute("aria-label", t("message"));
    els.send.setAttribute("aria-label", t("send"));
    els.pending.textContent = t("pending");
    if (state.typing) state.typing.setAttribute("aria-label", t("typing"));
    if (state.notice) els.notice.textContent = t(state.notice);
    if (els.context && options.product) {
      var name = options.productTitle[lang] || options.productTitle.zh || options.product;
      els.context.textContent = t("asking") + name;
      els.context.hidden = false;
    }
  }

  function setLanguage(lang) {
    if ((lang === "zh" || lang === "en") && lang !== state.lang) {
      state.lang = lang;
      applyLanguage();
    }
  }

  /* ---------- session id and metadata ---------- */

  function readStoredSession() {
    try {
      var stored = JSON.parse(window.sessionStorage.getItem(SESSION_KEY) || "null");
      if (stored && typeof stored.session_id === "string" && typeof stored.session_token === "string") {
        return stored;
      }
    } catch (err) {
      // Storage off (privacy mode) or unreadable: a new session is fetched.
    }
    return null;
  }

  function remember(key, value) {
    try {
      if (value === null) window.sessionStorage.removeItem(key);
      else window.sessionStorage.setItem(key, value);
    } catch (err) {
      // Then it lives as long as the page.
    }
  }

  function recalled(key) {
    try {
      return window.sessionStorage.getItem(key);
    } catch (err) {
      return null;
    }
  }

  function storeSession(session) {
    state.session = session;
    state.sessionId = session ? session.session_id : null;
    remember(SESSION_KEY, session ? JSON.stringify(session) : null);
    if (session) {
      document.dispatchEvent(new CustomEvent("shopmate:session", { detail: session }));
    }
  }

  // The widget's conversation, issued and signed by the page's server.
  function getSession() {
    if (state.session) return Promise.resolve(state.session);
    var stored = readStoredSession();
    if (stored) {
      storeSession(stored);
      return Promise.resolve(stored);
    }
    return window
      .fetch(options.sessionUrl, { method: "POST", cache: "no-store", credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("session " + response.status);
        return response.json();
      })
      .then(function (session) {
        storeSession(session);
        return session;
      });
  }

  // Metadata sent with every message: the shopper's signed token from the shop's
  // server (demo-login.js in the demo; Rasa's side verifies it, the widget never
  // decides who the shopper is) and the product page the widget is on.
  function buildMetadata() {
    var metadata = {};
    var auth = window.ShopMateAuth;
    if (auth && auth.token) metadata.customer_token = auth.token;
    if (options.product) metadata.page_product = options.product;
    return metadata;
  }

  /* ---------- rendering ---------- */

  function scrollToBottom() {
    els.messages.scrollTop = els.messages.scrollHeight;
  }

  function append(node) {
    // Keep the typing indicator last.
    if (state.typing && state.typing.parentNode === els.messages) {
      els.messages.insertBefore(node, state.typing);
    } else {
      els.messages.appendChild(node);
    }
    scrollToBottom();
    return node;
  }

  function safeUrl(value) {
    if (typeof value !== "string" || !value) return null;
    try {
      var url = new URL(value, BASE);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (err) {
      return null;
    }
  }

  function link(href, label) {
    var a = el("a", "", label);
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    return a;
  }

  // Text with its http(s) addresses as links; nothing in it is ever markup.
  function fillText(node, text) {
    var last = 0;
    text.replace(URL_IN_TEXT, function (match, offset) {
      if (offset > last) node.appendChild(document.createTextNode(text.slice(last, offset)));
      var href = safeUrl(match);
      node.appendChild(href ? link(href, match) : document.createTextNode(match));
      last = offset + match.length;
      return match;
    });
    if (last < text.length) node.appendChild(document.createTextNode(text.slice(last)));
    return node;
  }

  function addBubble(who, text, lang) {
    var bubble = el("div", "shopmate-msg " + who);
    if (who === "bot") fillText(bubble, text);
    else bubble.textContent = text;
    if (lang) bubble.setAttribute("lang", lang === "en" ? "en" : "zh-CN");
    return append(bubble);
  }

  function announce(text) {
    if (!text) return;
    var line = el("p", "", t("assistant") + text);
    els.live.appendChild(line);
    while (els.live.childNodes.length > 3) els.live.removeChild(els.live.firstChild);
  }

  function disableChips() {
    var chips = els.messages.querySelectorAll(".shopmate-chip:not(:disabled)");
    Array.prototype.forEach.call(chips, function (chip) {
      chip.disabled = true;
    });
  }

  function buttonTitle(button) {
    return typeof button.title === "string" && button.title ? button.title : button.payload;
  }

  function addChips(buttons, lang) {
    var row = el("div", "shopmate-chips");
    row.setAttribute("role", "group");
    buttons.forEach(function (button) {
      if (!button) return;
      var url = button.type === "web_url" ? safeUrl(button.url) : null;
      if (url) {
        row.appendChild(link(url, button.title || url)).className = "shopmate-chip shopmate-chip--link";
        return;
      }
      if (typeof button.payload !== "string") return;
      var title = buttonTitle(button);
      var chip = el("button", "shopmate-chip", title);
      chip.type = "button";
      chip.addEventListener("click", function () {
        if (chip.disabled) return;
        chip.classList.add("is-chosen");
        sendMessage(button.payload, title);
      });
      row.appendChild(chip);
    });
    if (lang) row.setAttribute("lang", lang === "en" ? "en" : "zh-CN");
    if (row.childNodes.length) append(row);
    return row;
  }

  function setTyping(on) {
    window.clearTimeout(state.typingTimer);
    if (on) {
      if (!state.typing) {
        var typing = el("div", "shopmate-typing");
        typing.setAttribute("role", "status");
        typing.setAttribute("aria-label", t("typing"));
        for (var i = 0; i < 3; i += 1) typing.appendChild(el("span"));
        state.typing = typing;
        els.messages.appendChild(typing);
        scrollToBottom();
      }
      // Not every user message gets an answer; don't show dots forever.
      state.typingTimer = window.setTimeout(function () {
        setTyping(false);
      }, TYPING_TIMEOUT_MS);
    } else if (state.typing) {
      state.typing.remove();
      state.typing = null;
    }
  }

  function showNotice(key) {
    state.notice = key || null;
    els.notice.textContent = key ? t(key) : "";
    els.notice.hidden = !key;
  }

  function markUnread() {
    if (els.panel.hidden) els.launcher.classList.add("has-unread");
  }

  /* ---------- rich messages (shopmate/payloads.py) ---------- */

  function image(src, alt, className) {
    var img = el("img", className);
    img.src = src;
    img.alt = alt || "";
    img.loading = "lazy";
    img.decoding = "async";
    img.addEventListener("error", function () {
      img.classList.add("is-broken");
    });
    return img;
  }

  function text(value) {
    return value === undefined || value === null ? "" : String(value);
  }

  function productCard(item, index, lang) {
    var card = el("li", "shopmate-product");
    card.setAttribute("data-code", text(item.code));
    var src = safeUrl(item.image_url);
    var picture = el("div", "shopmate-product__picture");
    if (src) picture.appendChild(image(src, "", "shopmate-product__img"));
    var badge = el("span", "shopmate-product__index", index);
    badge.setAttribute("aria-hidden", "true");
    picture.appendChild(badge);
    card.appendChild(picture);
    var body = el("div", "shopmate-product__body");
    var href = safeUrl(item.url);
    var heading = el("p", "shopmate-product__title");
    if (href) {
      var a = el("a", "", item.title);
      a.href = href;
      a.rel = "noopener noreferrer";
      heading.appendChild(a);
    } else {
      heading.textContent = text(item.title);
    }
    body.appendChild(heading);
    var meta = el("p", "shopmate-product__meta");
    meta.appendChild(el("span", "shopmate-product__price", item.price));
    if (typeof item.rating === "number" && item.rating > 0) {
      var rating = el("span", "shopmate-product__rating", "★ " + item.rating.toFixed(1));
      rating.setAttribute("aria-label", TEXT[lang].rating + " " + item.rating.toFixed(1));
      meta.appendChild(rating);
    }
    body.appendChild(meta);
    if (item.in_stock === false) body.appendChild(el("p", "shopmate-product__soldout", TEXT[lang].soldOut));
    (Array.isArray(item.buttons) ? item.buttons : []).forEach(function (button) {
      if (!button || typeof button.payload !== "string") return;
      var title = text(button.title) || TEXT[lang].addToCart;
      var action = el("button", "shopmate-product__cart", title);
      action.type = "button";
      action.setAttribute("aria-label", title + " · " + text(item.title));
      action.addEventListener("click", function () {
        sendMessage(button.payload, title);
      });
      body.appendChild(action);
    });
    card.appendChild(body);
    return card;
  }

  function renderCarousel(items, lang) {
    var box = el("div", "shopmate-carousel");
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", TEXT[lang].products + " · " + TEXT[lang].count(items.length));
    var track = el("ul", "shopmate-carousel__track");
    // Scrolled with the arrow keys once focused; the page itself never scrolls sideways.
    track.setAttribute("tabindex", "0");
    track.setAttribute("aria-label", TEXT[lang].products);
    items.forEach(function (item, index) {
      if (item && typeof item === "object") track.appendChild(productCard(item, index + 1, lang));
    });
    box.appendChild(track);
    append(box);
    return items
      .map(function (item, index) {
        return index + 1 + ". " + text(item && item.title) + " " + text(item && item.price);
      })
      .join("; ");
  }

  function renderOrder(order, lang) {
    var words = TEXT[lang];
    var card = el("article", "shopmate-order");
    var number = text(order.number);
    card.setAttribute("aria-label", words.order + " " + number);
    var head = el("header", "shopmate-order__head");
    head.appendChild(el("p", "shopmate-order__number", words.order + " " + number));
    var status = text(order.status_label) || words.status[order.status] || text(order.status);
    if (status) head.appendChild(el("p", "shopmate-order__status", status));
    card.appendChild(head);
    var facts = el("dl", "shopmate-order__facts");
    [
      [words.placedAt, order.placed_at],
      [words.total, order.total],
      [words.carrier, [text(order.carrier), text(order.tracking_number)].join(" ").trim()],
    ].forEach(function (row) {
      if (!text(row[1])) return;
      var line = el("div");
      line.appendChild(el("dt", "", row[0]));
      line.appendChild(el("dd", "", row[1]));
      facts.appendChild(line);
    });
    card.appendChild(facts);
    var items = Array.isArray(order.items) ? order.items : [];
    if (items.length) {
      var list = el("ul", "shopmate-order__items");
      list.setAttribute("aria-label", words.items);
      items.forEach(function (item) {
        if (item) list.appendChild(el("li", "", text(item.title) + " × " + text(item.quantity)));
      });
      card.appendChild(list);
    }
    var steps = Array.isArray(order.timeline) ? order.timeline : [];
    if (steps.length) {
      var headingId = "shopmate-tl-" + Math.random().toString(36).slice(2, 9);
      var heading = el("p", "shopmate-order__tracking", words.tracking);
      heading.id = headingId;
      card.appendChild(heading);
      var timeline = el("ol", "shopmate-timeline");
      timeline.setAttribute("aria-labelledby", headingId);
      steps.forEach(function (step, index) {
        if (!step) return;
        var li = el("li", "shopmate-timeline__step" + (index === steps.length - 1 ? " is-latest" : ""));
        li.appendChild(el("span", "shopmate-timeline__time", step.time));
        var what = [text(step.location), text(step.description)].filter(Boolean).join(" · ");
        li.appendChild(el("span", "shopmate-timeline__what", what));
        timeline.appendChild(li);
      });
      card.appendChild(timeline);
    }
    append(card);
    return [words.order + " " + number, status].filter(Boolean).join(" ");
  }

  function renderRating(payload, lang) {
    var words = TEXT[lang];
    var buttons = (Array.isArray(payload.buttons) ? payload.buttons : []).filter(function (b) {
      return b && typeof b.payload === "string";
    });
    var row = el("div", "shopmate-chips shopmate-rating");
    row.setAttribute("role", "group");
    row.setAttribute("aria-label", words.rate);
    var stars = [];
    function light(count) {
      stars.forEach(function (star, index) {
        star.classList.toggle("is-lit", index < count);
      });
    }
    buttons.forEach(function (button, index) {
      var title = buttonTitle(button);
      var star = el("button", "shopmate-chip shopmate-star", "★");
      star.type = "button";
      star.title = title;
      star.setAttribute("aria-label", words.star(index + 1) + (title ? " · " + title : ""));
      star.addEventListener("mouseenter", function () { light(index + 1); });
      star.addEventListener("focus", function () { light(index + 1); });
      star.addEventListener("click", function () {
        if (star.disabled) return;
        star.classList.add("is-chosen");
        light(index + 1);
        sendMessage(button.payload, title);
        row.setAttribute("data-chosen", String(index + 1));
      });
      stars.push(star);
      row.appendChild(star);
    });
    function reset() {
      light(Number(row.getAttribute("data-chosen") || 0));
    }
    row.addEventListener("mouseleave", reset);
    row.addEventListener("focusout", reset);
    if (stars.length) append(row);
  }

  // The satisfaction question sent as plain buttons (a channel that did not make it
  // a rating payload): every payload rates the service (shopmate/payloads.py).
  function isRating(buttons) {
    return Array.isArray(buttons) && buttons.length > 1 && buttons.every(function (b) {
      return b && typeof b.payload === "string" && b.payload.indexOf(RATING_INTENT) === 0;
    });
  }

  // Returns what the live region says of it.
  function renderPayload(payload, lang) {
    var kind = payload.type;
    if (kind === "carousel" && Array.isArray(payload.items)) return renderCarousel(payload.items, lang);
    if (kind === "product_card" && payload.product && typeof payload.product === "object") {
      var item = Object.assign({}, payload.product, { buttons: payload.buttons || [] });
      return renderCarousel([item], lang);
    }
    if (kind === "order_card" && payload.order && typeof payload.order === "object") {
      return renderOrder(payload.order, lang);
    }
    if (kind === "rating") {
      renderRating(payload, lang);
      return "";
    }
    return "";
  }

  function renderAttachment(attachment) {
    if (!attachment || typeof attachment !== "object") return "";
    var payload = attachment.payload || {};
    var href = safeUrl(payload.src || payload.url || attachment.src || attachment.url);
    if (!href) return "";
    var bubble = el("div", "shopmate-msg bot shopmate-attachment");
    if (attachment.type === "image") {
      var a = link(href, "");
      a.appendChild(image(href, t("imageLink"), "shopmate-attachment__img"));
      bubble.appendChild(a);
      append(bubble);
      return t("imageLink");
    }
    bubble.appendChild(link(href, t("fileLink")));
    append(bubble);
    return t("fileLink");
  }

  /* ---------- bot messages ---------- */

  function renderBot(message, fromHistory) {
    if (typeof message === "string") message = { text: message };
    if (!message || typeof message !== "object") return;
    var rich = message.shopmate && typeof message.shopmate === "object" ? message.shopmate : null;
    var body = typeof message.text === "string" ? message.text : "";
    var lang = rich && (rich.language === "en" || rich.language === "zh") ? rich.language : detectLanguage(body);
    if (lang) setLanguage(lang);
    lang = lang || state.lang;
    var said = [];
    if (body.trim()) {
      addBubble("bot", body, lang);
      said.push(body);
    }
    if (rich) {
      said.push(renderPayload(rich, lang));
    } else {
      var buttons = Array.isArray(message.quick_replies) && message.quick_replies.length
        ? message.quick_replies
        : message.buttons;
      if (isRating(buttons)) renderRating({ buttons: buttons }, lang);
      else if (Array.isArray(buttons) && buttons.length) addChips(buttons, lang);
      if (message.attachment) said.push(renderAttachment(message.attachment));
    }
    if (!fromHistory) {
      announce(said.filter(Boolean).join(" "));
      markUnread();
    }
  }

  function onBotUttered(message) {
    state.unanswered = null;
    setTyping(false);
    renderBot(message, false);
  }

  /* ---------- user messages and the outbox ---------- */

  function newMessageId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map
      .call(bytes, function (b) {
        return ("0" + b.toString(16)).slice(-2);
      })
      .join("");
  }

  function emitUserMessage(text, messageId) {
    var id = messageId || newMessageId();
    state.unanswered = { text: text, id: id };
    state.socket.emit("user_uttered", {
      message: text,
      session_id: state.sessionId,
      metadata: buildMetadata(),
      message_id: id,
    });
  }

  function canSend() {
    return state.ready && state.socket && state.socket.connected && navigator.onLine !== false;
  }

  function sendMessage(text, shownAs) {
    var message = typeof text === "string" ? text.trim() : "";
    if (!message) return;
    disableChips();
    if (!shownAs) setLanguage(detectLanguage(message));
    var bubble = addBubble("user", shownAs || message);
    if (canSend()) {
      setTyping(true);
      emitUserMessage(message);
    } else {
      // Sent, in order, once Rasa has confirmed the session again (onSessionConfirm).
      bubble.classList.add("is-pending");
      bubble.setAttribute("aria-describedby", "shopmate-pending");
      state.outbox.push({ text: message, bubble: bubble });
      connect();
    }
  }

  function flushOutbox() {
    while (state.outbox.length && canSend()) {
      var item = state.outbox.shift();
      item.bubble.classList.remove("is-pending");
      item.bubble.removeAttribute("aria-describedby");
      emitUserMessage(item.text);
      setTyping(true);
    }
  }

  /* ---------- the conversation so far (after a reload) ---------- */

  function renderHistory(messages) {
    var lastBot = null;
    messages.forEach(function (message) {
      if (!message || typeof message !== "object") return;
      if (message.sender === "user" && typeof message.text === "string") {
        disableChips();
        addBubble("user", message.text);
        lastBot = null;
      } else if (message.sender === "bot") {
        renderBot(message, true);
        lastBot = message;
      }
    });
    if (!lastBot) disableChips();
    scrollToBottom();
  }

  function loadHistory() {
    var stored = readStoredSession();
    if (!stored || !options.historyUrl) return Promise.resolve();
    return window
      .fetch(options.historyUrl, {
        method: "POST",
        cache: "no-store",
        credentials: "same-origin",
        headers: { "X-ShopMate-Session": stored.session_token },
      })
      .then(function (response) {
        return response.ok ? response.json() : { messages: [] };
      })
      .then(function (body) {
        if (body && Array.isArray(body.messages)) renderHistory(body.messages);
      })
      .catch(function () {
        // No history (Rasa unreachable, history off): the conversation goes on.
      });
  }

  /* ---------- connection ---------- */

  function setReady(ready) {
    state.ready = ready;
    els.panel.setAttribute("data-ready", ready ? "true" : "false");
  }

  function onSessionConfirm() {
    showNotice(navigator.onLine === false ? "offline" : "");
    setReady(true);
    if (state.unanswered) {
      // Its reply never came: the same message, the same id (answered once).
      setTyping(true);
      emitUserMessage(state.unanswered.text, state.unanswered.id);
    }
    flushOutbox();
  }

  function onConnectionLost() {
    setReady(false);
    setTyping(false);
    showNotice(navigator.onLine === false ? "offline" : "reconnecting");
  }

  function openSocket(config) {
    var socket = window.io(config.rasaUrl, {
      path: config.socketPath || "/socket.io/",
      // Rasa's socketio server disables CORS handling, so long-polling would fail.
      transports: ["websocket"],
      reconnection: true,
      reconnectionDelay: 1000,
      reconnectionDelayMax: 10000,
    });
    function requestSession() {
      getSession()
        .then(function (session) {
          socket.emit("session_request", {
            session_id: session.session_id,
            session_token: session.session_token,
          });
        })
        .catch(function () {
          showNotice("unavailable");
        });
    }
    socket.on("connect", requestSession);
    socket.on("session_confirm", onSessionConfirm);
    socket.on("session_rejected", function () {
      // Expired or unknown: start a new conversation with a fresh signed session.
      setReady(false);
      storeSession(null);
      requestSession();
    });
    socket.on("bot_uttered", onBotUttered);
    socket.on("connect_error", onConnectionLost);
    socket.on("disconnect", function (reason) {
      onConnectionLost();
      // The server closed this socket on purpose: socket.io won't retry by itself.
      if (reason === "io server disconnect" && navigator.onLine !== false) socket.connect();
    });
    state.socket = socket;
  }

  function loadConfig(attempt) {
    if (options.rasaUrl) {
      return Promise.resolve({ rasaUrl: options.rasaUrl, socketPath: options.socketPath });
    }
    return window
      .fetch(options.configUrl, { cache: "no-store", credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("config " + response.status);
        return response.json();
      })
      .then(function (config) {
        if (!config || typeof config.rasaUrl !== "string") throw new Error("bad config");
        return config;
      })
      .catch(function () {
        showNotice("reconnecting");
        var delay = CONFIG_RETRY_MS[Math.min(attempt, CONFIG_RETRY_MS.length - 1)];
        return new Promise(function (resolve) {
          window.setTimeout(resolve, delay);
        }).then(function () {
          return loadConfig(attempt + 1);
        });
      });
  }

  // The Socket.IO client from the widget's own server, unless the page has one.
  function loadSocketIo() {
    if (typeof window.io === "function") return Promise.resolve();
    return new Promise(function (resolve, reject) {
      var tag = document.createElement("script");
      tag.src = options.ioUrl;
      tag.async = true;
      tag.addEventListener("load", resolve);
      tag.addEventListener("error", reject);
      document.head.appendChild(tag);
    });
  }

  function waitForHistory() {
    return Promise.race([
      state.history,
      new Promise(function (resolve) { window.setTimeout(resolve, HISTORY_WAIT_MS); }),
    ]);
  }

  function connect() {
    if (state.socket || state.connecting) return;
    state.connecting = true;
    waitForHistory()
      .then(loadSocketIo)
      .then(function () { return loadConfig(0); })
      .then(function (config) {
        state.connecting = false;
        if (typeof window.io !== "function") throw new Error("no socket.io");
        openSocket(config);
      })
      .catch(function () {
        state.connecting = false;
        showNotice("unavailable");
      });
  }

  function onOffline() {
    // Nothing gets through; messages typed now wait in the outbox.
    if (state.socket) state.socket.disconnect();
    onConnectionLost();
  }

  function onOnline() {
    showNotice(state.socket || state.outbox.length ? "reconnecting" : "");
    if (state.socket) state.socket.connect();
    else if (state.outbox.length || !els.panel.hidden) connect();
  }

  /* ---------- panel and input ---------- */

  function setOpen(open) {
    els.panel.hidden = !open;
    els.launcher.setAttribute("aria-expanded", open ? "true" : "false");
    els.launcher.setAttribute("aria-label", open ? t("close") : t("open"));
    remember(OPEN_KEY, open ? "1" : null);
    if (open) {
      els.launcher.classList.remove("has-unread");
      connect();
      scrollToBottom();
      els.input.focus();
    } else {
      els.launcher.focus();
    }
  }

  function updateSendButton() {
    els.send.disabled = !els.input.value.trim();
  }

  function submitInput() {
    var value = els.input.value.trim();
    if (!value) return;
    els.input.value = "";
    updateSendButton();
    sendMessage(value);
    els.input.focus();
  }

  function init() {
    if (!document.body || !findDom()) return;
    applyLanguage();
    els.launcher.addEventListener("click", function () {
      setOpen(els.panel.hidden);
    });
    if (els.close) {
      els.close.addEventListener("click", function () {
        setOpen(false);
      });
    }
    els.panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        event.stopPropagation();
        setOpen(false);
      }
    });
    els.input.addEventListener("input", updateSendButton);
    els.input.addEventListener("keydown", function (event) {
      // Enter sends, except while an input method (pinyin...) is composing.
      if (event.key === "Enter" && !event.isComposing && event.keyCode !== 229) {
        event.preventDefault();
        submitInput();
      }
    });
    els.form.addEventListener("submit", function (event) {
      event.preventDefault();
      submitInput();
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-shopmate-open]"), function (opener) {
      opener.setAttribute("aria-controls", "shopmate-panel");
      opener.addEventListener("click", function () {
        setOpen(true);
      });
    });
    window.addEventListener("offline", onOffline);
    window.addEventListener("online", onOnline);
    updateSendButton();
    state.history = loadHistory();
    if (recalled(OPEN_KEY)) {
      // Open again after a reload, without taking the focus from the page.
      els.panel.hidden = false;
      els.launcher.setAttribute("aria-expanded", "true");
      els.launcher.setAttribute("aria-label", t("close"));
      connect();
      state.history.then(scrollToBottom);
    }
  }

  // For the shop page's own scripts (demo-login.js binds a customer token to it).
  window.ShopMateWidget = {
    loaded: true,
    session: getSession,
    open: function () { setOpen(true); },
    close: function () { setOpen(false); },
    send: function (text) { sendMessage(text); },
    language: function () { return state.lang; },
  };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
