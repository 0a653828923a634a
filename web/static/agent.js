// The agent console (web/agent.py). Everything a shopper or an agent wrote is put on
// the page with textContent, never as HTML.
(function () {
  "use strict";
  const api = "/agent/api";
  const $ = (id) => document.getElementById(id);
  let view = "waiting";
  let current = null; // the ticket shown
  let stream = null; // its EventSource
  let shown = 0; // transcript lines shown
  let me = null;
  let canned = [];

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)agent_csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  async function call(method, path, body) {
    const options = { method, headers: {}, credentials: "same-origin" };
    if (method !== "GET") {
      options.headers["x-csrftoken"] = csrfToken();
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body || {});
    }
    const reply = await fetch(api + path, options);
    const data = await reply.json().catch(() => ({}));
    if (reply.status === 401 && path !== "/login") showLogin();
    if (!reply.ok) throw new Error(data.error || reply.statusText);
    return data;
  }

  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function showLogin() {
    me = null;
    $("login").hidden = false;
    $("console").hidden = true;
    $("whoami").hidden = true;
  }

  async function showConsole(agent) {
    me = agent;
    $("agent-name").textContent = agent;
    $("login").hidden = true;
    $("console").hidden = false;
    $("whoami").hidden = false;
    canned = await call("GET", "/canned").catch(() => []);
    await refreshQueue();
  }

  async function refreshQueue() {
    if (!me) return;
    const tickets = await call("GET", "/queue?view=" + view).catch(() => null);
    if (!tickets) return;
    const list = $("tickets");
    list.replaceChildren();
    for (const ticket of tickets) {
      const item = element("li");
      item.dataset.ticket = ticket.id;
      if (current && current.id === ticket.id) item.classList.add("selected");
      item.append(element("strong", ticket.number));
      item.append(element("div", (ticket.customer_name || "访客 guest") + " · " + ticket.language + " · " + ticket.reason, "meta"));
      item.addEventListener("click", () => openTicket(ticket.id));
      list.append(item);
    }
  }

  function addLine(line) {
    const item = element("li", null, line.role);
    const who = line.role === "agent" ? "客服 " + (line.agent || "") : line.role === "bot" ? "机器人 bot" : "顾客 shopper";
    item.append(element("span", who, "who"));
    item.append(document.createTextNode(line.text));
    $("transcript").append(item);
    $("transcript").scrollTop = $("transcript").scrollHeight;
    shown += 1;
  }

  function renderTicket(ticket) {
    current = ticket;
    $("ticket").hidden = false;
    $("ticket-error").textContent = "";
    $("ticket-title").textContent = ticket.number + " · " + ticket.status + (ticket.agent ? " · " + ticket.agent : "");
    $("summary").textContent = ticket.summary || "";
    const open = ticket.status !== "closed";
    $("claim").hidden = !open || ticket.agent === me;
    $("handback").hidden = !open || ticket.agent !== me;
    $("reply").hidden = !open || ticket.agent !== me;
    const customer = $("customer");
    customer.replaceChildren();
    const facts = [
      ["身份 Identity", ticket.customer_id !== null ? "已登录 signed in #" + ticket.customer_id : "访客 guest"],
      ["姓名 Name", ticket.customer_name || "—"],
      ["语言 Language", ticket.language],
      ["情绪 Mood", ticket.sentiment],
      ["评分 Rating", ticket.rating || "—"],
    ];
    for (const [term, value] of facts) {
      customer.append(element("dt", term), element("dd", value));
    }
    const orders = $("orders");
    orders.replaceChildren();
    for (const order of ticket.orders || []) {
      const titles = order.items.map((i) => (ticket.language === "en" ? i.title_en : i.title_zh) + " ×" + i.quantity).join(", ");
      orders.append(element("li", order.order_number + " · " + order.status + " · ¥" + (order.total_cents / 100).toFixed(2) + " · " + titles));
    }
    if (!orders.children.length) orders.append(element("li", "—"));
    const notes = $("notes");
    notes.replaceChildren();
    for (const note of ticket.notes || []) notes.append(element("li", note.agent + ": " + note.text));
    const select = $("canned");
    select.replaceChildren(element("option", "快捷回复 Canned reply…"));
    select.firstChild.value = "";
    for (const reply of canned) {
      const option = element("option", ticket.language === "en" ? reply.en : reply.zh);
      option.value = option.textContent;
      select.append(option);
    }
    $("transcript").replaceChildren();
    shown = 0;
    for (const line of ticket.transcript || []) addLine(line);
    if (stream) stream.close();
    stream = null;
    if (open) {
      stream = new EventSource(api + "/tickets/" + ticket.id + "/stream?after=" + shown);
      stream.addEventListener("line", (event) => addLine(JSON.parse(event.data)));
    }
  }

  async function openTicket(id) {
    try {
      renderTicket(await call("GET", "/tickets/" + id));
      await refreshQueue();
    } catch (error) {
      $("ticket-error").textContent = error.message;
    }
  }

  async function act(path, body) {
    if (!current) return;
    try {
      await call("POST", "/tickets/" + current.id + path, body);
      await openTicket(current.id);
    } catch (error) {
      $("ticket-error").textContent = error.message;
    }
  }

  $("login").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("login-error").textContent = "";
    try {
      const data = await call("POST", "/login", { name: $("login-name").value, password: $("login-password").value });
      $("login-password").value = "";
      await showConsole(data.agent);
    } catch (error) {
      $("login-error").textContent = "账号或密码错误 Wrong name or password";
    }
  });
  $("logout").addEventListener("click", async () => {
    await call("POST", "/logout").catch(() => null);
    if (stream) stream.close();
    showLogin();
  });
  for (const tab of document.querySelectorAll(".tabs button")) {
    tab.addEventListener("click", () => showView(tab.dataset.view));
  }
  function showView(name) {
    view = name;
    for (const tab of document.querySelectorAll(".tabs button")) tab.classList.toggle("active", tab.dataset.view === name);
    refreshQueue();
  }
  $("claim").addEventListener("click", async () => {
    await act("/claim");
    showView("mine"); // a claimed ticket is in "Mine" now
  });
  $("handback").addEventListener("click", () => act("/handback"));
  $("canned").addEventListener("change", () => {
    if ($("canned").value) $("reply-text").value = $("canned").value;
  });
  $("reply").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("reply-text").value.trim();
    if (!text || !current) return;
    try {
      await call("POST", "/tickets/" + current.id + "/reply", { text });
      $("reply-text").value = "";
    } catch (error) {
      $("ticket-error").textContent = error.message;
    }
  });
  $("note").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("note-text").value.trim();
    if (!text) return;
    await act("/notes", { text });
    $("note-text").value = "";
  });

  setInterval(refreshQueue, 3000);
  call("GET", "/me")
    .then((data) => (data.agent ? showConsole(data.agent) : showLogin()))
    .catch(showLogin);
})();
