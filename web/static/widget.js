/* ShopMate chat widget: talks to Rasa's socketio channel. Plain ES2019, no build. */
(function () {
  "use strict";

  var SESSION_KEY = "shopmate.session";
  var els = {
    launcher: document.getElementById("shopmate-launcher"),
    panel: document.getElementById("shopmate-panel"),
    close: document.getElementById("shopmate-close"),
    notice: document.getElementById("shopmate-notice"),
    list: document.getElementById("shopmate-messages"),
    form: document.getElementById("shopmate-form"),
    input: document.getElementById("shopmate-input"),
    send: document.getElementById("shopmate-send"),
  };
  var socket = null;
  var typing = null;

  function sessionId() {
    var id = sessionStorage.getItem(SESSION_KEY);
    if (!id) {
      id = (window.crypto && crypto.randomUUID) ? crypto.randomUUID()
        : String(Date.now()) + Math.random().toString(16).slice(2);
      sessionStorage.setItem(SESSION_KEY, id);
    }
    return id;
  }

  // Metadata sent with every message. A logged-in shopper's signed token goes here;
  // the server checks it, the widget never decides who the shopper is.
  function buildMetadata() {
    return {};
  }

  function scrollDown() {
    els.list.scrollTop = els.list.scrollHeight;
  }

  function addMessage(who, text) {
    var item = document.createElement("li");
    item.className = "shopmate-msg " + who;
    item.textContent = text; // never innerHTML: message text is untrusted
    els.list.appendChild(item);
    scrollDown();
    return item;
  }

  function addChips(buttons) {
    var row = document.createElement("li");
    row.className = "shopmate-chips";
    buttons.forEach(function (button) {
      var chip = document.createElement("button");
      chip.type = "button";
      chip.className = "shopmate-chip";
      chip.textContent = button.title;
      chip.addEventListener("click", function () {
        row.remove();
        sendMessage(button.payload, button.title);
      });
      row.appendChild(chip);
    });
    els.list.appendChild(row);
    scrollDown();
  }

  function showTyping(on) {
    if (on && !typing) {
      typing = document.createElement("li");
      typing.className = "shopmate-typing";
      typing.setAttribute("aria-label", "typing");
      typing.textContent = "• • •";
      els.list.appendChild(typing);
      scrollDown();
    } else if (!on && typing) {
      typing.remove();
      typing = null;
    }
  }

  function notice(text) {
    els.notice.textContent = text || "";
    els.notice.hidden = !text;
  }

  function sendMessage(payload, shown) {
    if (!socket || !payload.trim()) return;
    addMessage("user", shown || payload);
    socket.emit("user_uttered", {
      message: payload,
      session_id: sessionId(),
      metadata: buildMetadata(),
    });
    showTyping(true);
  }

  function onBotMessage(message) {
    showTyping(false);
    if (message.text) addMessage("bot", message.text);
    var buttons = message.quick_replies || message.buttons;
    if (buttons && buttons.length) addChips(buttons);
    if (message.attachment && message.attachment.payload && message.attachment.payload.src) {
      addMessage("bot", message.attachment.payload.src);
    }
  }

  function connect(config) {
    socket = io(config.rasaUrl, { path: config.socketPath, transports: ["websocket"] });
    socket.on("connect", function () {
      notice("");
      socket.emit("session_request", { session_id: sessionId() });
    });
    socket.on("session_confirm", function () {
      els.panel.setAttribute("data-ready", "true");
    });
    socket.on("bot_uttered", onBotMessage);
    socket.on("disconnect", function () {
      els.panel.setAttribute("data-ready", "false");
      showTyping(false);
      notice("连接中断，正在重试… / Connection lost, retrying…");
    });
    socket.on("connect_error", function () {
      notice("暂时连不上助手，正在重试… / Can't reach the assistant, retrying…");
    });
  }

  function openPanel(open) {
    els.panel.hidden = !open;
    els.launcher.setAttribute("aria-expanded", String(open));
    if (open) {
      els.input.focus();
      if (!socket) {
        fetch("/config.json")
          .then(function (response) { return response.json(); })
          .then(connect)
          .catch(function () { notice("暂时连不上助手 / Can't reach the assistant"); });
      }
    }
  }

  els.launcher.addEventListener("click", function () { openPanel(els.panel.hidden); });
  els.close.addEventListener("click", function () { openPanel(false); });
  els.input.addEventListener("input", function () {
    els.send.disabled = !els.input.value.trim();
  });
  els.form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = els.input.value.trim();
    if (!text) return;
    sendMessage(text);
    els.input.value = "";
    els.send.disabled = true;
  });
})();
