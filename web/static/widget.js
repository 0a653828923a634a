/*
 * ShopMate chat widget: talks to Rasa's socketio channel (credentials.yml).
 * Plain ES2019, no build step. Message text is always set with textContent.
 *
 * Protocol: the page's server issues a conversation (POST /session → {session_id,
 * session_token}, signed there); on connect emit "session_request" {session_id,
 * session_token}; Rasa answers "session_confirm", or "session_rejected" for a token it
 * does not accept (expired, forged), and the widget then asks the page for a new one.
 * The shopper sends "user_uttered" {message, session_id, metadata}; the bot answers
 * with "bot_uttered" {text, quick_replies?, buttons?, attachment?}.
 */
(function () {
  "use strict";

  var SESSION_KEY = "shopmate.session";
  var TYPING_TIMEOUT_MS = 30000;
  var CONFIG_RETRY_MS = [1000, 3000, 10000, 30000];
  var TEXT = {
    reconnecting: "连接中断，正在重试… / Connection lost, retrying…",
    unavailable: "助手暂时无法使用，请稍后再试。 / The assistant is unavailable, please try again later.",
    openLabel: "打开 ShopMate 助手 · Open the ShopMate assistant",
    closeLabel: "关闭 ShopMate 助手 · Close the ShopMate assistant",
    typingLabel: "助手正在输入 · The assistant is typing",
    imageLink: "查看图片 / View image",
    soldOut: "售罄 / sold out",
    fileLink: "打开链接 / Open link",
  };

  var els = {
    launcher: document.getElementById("shopmate-launcher"),
    panel: document.getElementById("shopmate-panel"),
    close: document.getElementById("shopmate-close"),
    notice: document.getElementById("shopmate-notice"),
    messages: document.getElementById("shopmate-messages"),
    form: document.getElementById("shopmate-form"),
    input: document.getElementById("shopmate-input"),
    send: document.getElementById("shopmate-send"),
  };

  var state = {
    socket: null,
    connecting: false,
    ready: false,
    outbox: [],
    typing: null,
    typingTimer: 0,
    sessionId: null,
    session: null,
  };

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

  function storeSession(session) {
    state.session = session;
    state.sessionId = session ? session.session_id : null;
    try {
      if (session) window.sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
      else window.sessionStorage.removeItem(SESSION_KEY);
    } catch (err) {
      // The session then lives as long as the page.
    }
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
      .fetch("/session", { method: "POST", cache: "no-store", credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("session " + response.status);
        return response.json();
      })
      .then(function (session) {
        storeSession(session);
        return session;
      });
  }

  function getSessionId() {
    return state.sessionId;
  }

  // For the shop page's own scripts (demo-login.js binds a customer token to it).
  window.ShopMateWidget = { session: getSession };

  // Metadata sent with every message. A later feature adds the shopper's signed token
  // here; Rasa's side verifies it, the widget never decides who the shopper is.
  function buildMetadata() {
    // A signed token from the shop's server (demo-login.js in the demo); the action
    // server verifies it. Without one the shopper is a guest.
    var auth = window.ShopMateAuth;
    return auth && auth.token ? { customer_token: auth.token } : {};
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

  function addBubble(who, text) {
    var bubble = document.createElement("div");
    bubble.className = "shopmate-msg " + who;
    bubble.textContent = text;
    return append(bubble);
  }

  function safeUrl(value) {
    if (typeof value !== "string") return null;
    try {
      var url = new URL(value, window.location.href);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (err) {
      return null;
    }
  }

  function addLinkBubble(href, label) {
    var bubble = document.createElement("div");
    bubble.className = "shopmate-msg bot";
    var link = document.createElement("a");
    link.href = href;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    link.textContent = label;
    bubble.appendChild(link);
    return append(bubble);
  }

  function disableChips() {
    var chips = els.messages.querySelectorAll(".shopmate-chip:not(:disabled)");
    Array.prototype.forEach.call(chips, function (chip) {
      chip.disabled = true;
    });
  }

  function addChips(buttons) {
    var row = document.createElement("div");
    row.className = "shopmate-chips";
    row.setAttribute("role", "group");
    buttons.forEach(function (button) {
      if (!button || typeof button.payload !== "string") return;
      var title = typeof button.title === "string" && button.title ? button.title : button.payload;
      var chip = document.createElement("button");
      chip.type = "button";
      chip.className = "shopmate-chip";
      chip.textContent = title;
      chip.addEventListener("click", function () {
        if (chip.disabled) return;
        chip.classList.add("is-chosen");
        sendMessage(button.payload, title);
      });
      row.appendChild(chip);
    });
    if (row.childNodes.length) append(row);
  }

  function setTyping(on) {
    window.clearTimeout(state.typingTimer);
    if (on) {
      if (!state.typing) {
        var typing = document.createElement("div");
        typing.className = "shopmate-typing";
        typing.setAttribute("role", "status");
        typing.setAttribute("aria-label", TEXT.typingLabel);
        for (var i = 0; i < 3; i += 1) typing.appendChild(document.createElement("span"));
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

  function showNotice(text) {
    els.notice.textContent = text || "";
    els.notice.hidden = !text;
  }

  function markUnread() {
    if (els.panel.hidden) els.launcher.classList.add("has-unread");
  }

  /* ---------- bot messages ---------- */

  function renderAttachment(attachment) {
    if (!attachment || typeof attachment !== "object") return;
    var payload = attachment.payload || {};
    // Images are linked, not embedded: the page's CSP only allows its own images.
    var href = safeUrl(payload.src || payload.url || attachment.src || attachment.url);
    if (href) addLinkBubble(href, attachment.type === "image" ? TEXT.imageLink : TEXT.fileLink);
  }

  // A product card (actions/shopping.py): text only through textContent; the image
  // is a link, like other images, because the page's CSP only allows its own images.
  function renderProductCard(card) {
    if (!card || typeof card !== "object") return;
    var box = document.createElement("div");
    box.className = "shopmate-msg bot shopmate-card";
    box.setAttribute("data-code", String(card.code || ""));
    var title = document.createElement("div");
    title.className = "shopmate-card-title";
    title.textContent = (card.index ? card.index + ". " : "") + String(card.title || "");
    var meta = document.createElement("div");
    meta.className = "shopmate-card-meta";
    var rating = typeof card.rating === "number" ? " · ★ " + card.rating.toFixed(1) : "";
    meta.textContent = String(card.price || "") + rating + (card.in_stock === false ? " · " + TEXT.soldOut : "");
    box.appendChild(title);
    box.appendChild(meta);
    var href = safeUrl(card.image_url);
    if (href) {
      var link = document.createElement("a");
      link.href = href;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      link.textContent = TEXT.imageLink;
      box.appendChild(link);
    }
    // Rasa sends the card's text line first, as its own message: the card replaces it.
    var previous = state.typing && state.typing.previousSibling
      ? state.typing.previousSibling
      : els.messages.lastChild;
    var line = title.textContent;
    if (previous && / bot/.test(" " + previous.className) && previous.textContent.indexOf(line) === 0) {
      els.messages.removeChild(previous);
    }
    append(box);
  }

  function onBotUttered(message) {
    setTyping(false);
    if (typeof message === "string") message = { text: message };
    if (!message || typeof message !== "object") return;
    if (message.product_card) {
      renderProductCard(message.product_card);
      markUnread();
      return;
    }
    if (typeof message.text === "string" && message.text.trim()) addBubble("bot", message.text);
    var buttons = Array.isArray(message.quick_replies) && message.quick_replies.length
      ? message.quick_replies
      : message.buttons;
    if (Array.isArray(buttons) && buttons.length) addChips(buttons);
    if (message.attachment) renderAttachment(message.attachment);
    markUnread();
  }

  /* ---------- user messages ---------- */

  function emitUserMessage(text) {
    state.socket.emit("user_uttered", {
      message: text,
      session_id: getSessionId(),
      metadata: buildMetadata(),
    });
  }

  function sendMessage(text, shownAs) {
    var message = typeof text === "string" ? text.trim() : "";
    if (!message) return;
    disableChips();
    addBubble("user", shownAs || message);
    setTyping(true);
    if (state.ready && state.socket && state.socket.connected) {
      emitUserMessage(message);
    } else {
      // Sent once Rasa has confirmed the session (see onSessionConfirm).
      state.outbox.push(message);
      connect();
    }
  }

  function flushOutbox() {
    while (state.outbox.length && state.ready && state.socket && state.socket.connected) {
      emitUserMessage(state.outbox.shift());
    }
  }

  /* ---------- connection ---------- */

  function setReady(ready) {
    state.ready = ready;
    els.panel.setAttribute("data-ready", ready ? "true" : "false");
  }

  function onSessionConfirm(confirmed) {
    showNotice("");
    setReady(true);
    flushOutbox();
  }

  function onConnectionLost() {
    setReady(false);
    setTyping(false);
    showNotice(TEXT.reconnecting);
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
          showNotice(TEXT.unavailable);
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
      if (reason === "io server disconnect") socket.connect();
    });
    state.socket = socket;
  }

  function loadConfig(attempt) {
    return window
      .fetch("/config.json", { cache: "no-store", credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("config " + response.status);
        return response.json();
      })
      .then(function (config) {
        if (!config || typeof config.rasaUrl !== "string") throw new Error("bad config");
        return config;
      })
      .catch(function () {
        showNotice(TEXT.reconnecting);
        var delay = CONFIG_RETRY_MS[Math.min(attempt, CONFIG_RETRY_MS.length - 1)];
        return new Promise(function (resolve) {
          window.setTimeout(resolve, delay);
        }).then(function () {
          return loadConfig(attempt + 1);
        });
      });
  }

  function connect() {
    if (state.socket || state.connecting) return;
    if (typeof window.io !== "function") {
      showNotice(TEXT.unavailable);
      return;
    }
    state.connecting = true;
    loadConfig(0).then(function (config) {
      state.connecting = false;
      openSocket(config);
    });
  }

  /* ---------- panel and input ---------- */

  function setOpen(open) {
    els.panel.hidden = !open;
    els.launcher.setAttribute("aria-expanded", open ? "true" : "false");
    els.launcher.setAttribute("aria-label", open ? TEXT.closeLabel : TEXT.openLabel);
    if (open) {
      els.launcher.classList.remove("has-unread");
      connect();
      scrollToBottom();
      els.input.focus();
    }
  }

  function updateSendButton() {
    els.send.disabled = !els.input.value.trim();
  }

  function submitInput() {
    var text = els.input.value.trim();
    if (!text) return;
    els.input.value = "";
    updateSendButton();
    sendMessage(text);
    els.input.focus();
  }

  function init() {
    if (!els.launcher || !els.panel || !els.messages || !els.input || !els.send) return;
    els.launcher.addEventListener("click", function () {
      setOpen(els.panel.hidden);
    });
    if (els.close) {
      els.close.addEventListener("click", function () {
        setOpen(false);
        els.launcher.focus();
      });
    }
    els.panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        setOpen(false);
        els.launcher.focus();
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
    updateSendButton();
  }

  init();
})();
