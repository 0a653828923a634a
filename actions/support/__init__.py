"""What every action module shares, so that feature modules never import each other.

- `services`: `Lazy` (a service built once, on first use, off the event loop) and
  `or_apologise` (do this off the loop, or tell the shopper the service is down);
- `slots`: the names of the slots the actions read and set;
- `conversation`: the shopper's language and words, entities, earlier messages;
- `formatting`: money, variants, lists and category names as the shopper reads them;
- `identity`: who is asking (a signed token, or orders a guest proved);
- `order_proof`: the order-number-then-phone steps every order form shares;
- `products`: the product search every shopping action reads (the products last
  shown, "the second one", product cards).
"""
