"""ShopMate's load generator: scripted shoppers (flows.py) over REST and Socket.IO
(clients.py) in a closed loop for a fixed time (runner.py), with latency, throughput,
errors and memory (stats.py) and a chart (plot.py). `scripts/bench_load.py` runs it
against a stock `rasa init` bot and ShopMate's production shape (`make bench`)."""
