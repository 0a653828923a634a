/* Demo login: pick a seeded customer; the page's server signs a token for them.
   A real shop sets window.ShopMateAuth.token from its own login instead. */
(function () {
  "use strict";
  window.ShopMateAuth = { token: null };
  var box = document.getElementById("demo-login");
  var select = document.getElementById("demo-customer");
  if (!box || !select) return;

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
    })
    .catch(function () { box.hidden = true; });

  // The token names the widget's conversation: fetched again whenever that changes.
  function signIn() {
    window.ShopMateAuth.token = null;
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
  select.addEventListener("change", signIn);
  document.addEventListener("shopmate:session", function () {
    if (select.value) signIn();
  });
})();
