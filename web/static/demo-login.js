/* Demo login: pick a seeded customer; the page's server signs a token for them.
   A real shop sets window.ShopMateAuth.token from its own login instead. The choice
   is kept for the tab (sessionStorage), like the widget's conversation. */
(function () {
  "use strict";
  var CHOICE_KEY = "shopmate.demoCustomer";
  window.ShopMateAuth = { token: null };
  var box = document.getElementById("demo-login");
  var select = document.getElementById("demo-customer");
  if (!box || !select) return;
  select.setAttribute("aria-label", "演示登录 Demo login");

  function remembered() {
    try {
      return window.sessionStorage.getItem(CHOICE_KEY) || "";
    } catch (err) {
      return "";
    }
  }

  function remember(value) {
    try {
      if (value) window.sessionStorage.setItem(CHOICE_KEY, value);
      else window.sessionStorage.removeItem(CHOICE_KEY);
    } catch (err) {
      // The choice then lasts as long as the page.
    }
  }

  // The token names the widget's conversation: fetched again whenever that changes.
  function signIn() {
    window.ShopMateAuth.token = null;
    remember(select.value);
    if (!select.value || !window.ShopMateWidget) return;
    window.ShopMateWidget.session()
      .then(function (session) {
        return fetch("/demo/token?customer=" + encodeURIComponent(select.value), {
          headers: { "X-ShopMate-Session": session.session_token },
        });
      })
      .then(function (response) { return response.ok ? response.json() : {}; })
      .then(function (body) { window.ShopMateAuth.token = body.token || null; })
      .catch(function () { window.ShopMateAuth.token = null; });
  }

  fetch("/demo/customers.json")
    .then(function (response) { return response.ok ? response.json() : []; })
    .then(function (customers) {
      customers.forEach(function (customer) {
        var option = document.createElement("option");
        option.value = String(customer.id);
        option.textContent = customer.name + " · " + customer.orders.join(" ");
        select.appendChild(option);
      });
      box.hidden = customers.length === 0;
      var previous = remembered();
      if (previous && select.querySelector('option[value="' + previous.replace(/\D/g, "") + '"]')) {
        select.value = previous;
        // The widget's script runs after this one (both deferred): wait for it.
        if (window.ShopMateWidget) signIn();
        else document.addEventListener("DOMContentLoaded", signIn);
      }
    })
    .catch(function () { box.hidden = true; });

  select.addEventListener("change", signIn);
  document.addEventListener("shopmate:session", function () {
    if (select.value) signIn();
  });
})();
