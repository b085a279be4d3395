"""An order pipeline: enrich order events, route large orders, dead-letter malformed ones.

The pipeline is defined once, in ``headwater.demo.orders`` (read it there), so that
``headwater demo`` runs exactly this code from an installed package too.

Run it against a broker (the topic ``orders`` must exist)::

    headwater broker &
    headwater topics create orders --partitions 3
    headwater run examples/orders/app.py
    headwater tail order-totals
"""

from headwater.demo.orders import build_app

app = build_app()

if __name__ == "__main__":
    app.run()
