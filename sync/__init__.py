"""The sync engine: level-triggered reconciliation between planbridge's database and the trackers.

push.py (items and goal mirrors into trackers), pull.py (changes back), inbox.py (webhook
deliveries), scheduler.py (leases), pacing.py (write limits), retry.py (the only tenacity policies),
routing.py (which connection an item goes to), engine.py (one step of work), worker.py (threads and
signals).
"""
