"""How the weekly review is built; its public API is ``app.services.reviews``.

The review of ISO week W looks at two instants: S, Monday 00:00 UTC of W, and T, the cut (the
next Monday 00:00 UTC, or now while W runs). The modules, in the order a review is built:

- ``assembly``: the review of a plan and week put together (parts, planned hours, check-ins,
  people over capacity, current titles and names);
- ``store``: finished weeks' history-derived parts, stored once and dropped when their inputs
  change (``FREEZE_AFTER``, ``drop_outdated_reviews``);
- ``goal_parts``: a goal's part computed from history (percent at S and T, the lists);
- ``item_rows`` (SQL): the plan's items that can land in a list, as typed rows, with what
  history says of them at S and T; ``snapshots`` (SQL): an item at a past instant, from its
  latest snapshot event; ``sql``: how these queries read;
- ``at_cut`` (pure): the items as they stood at T, put together from those rows;
- ``lists`` (pure): which lists an item lands in, and in what order;
- ``planned`` : each person's planned hours in the week at T;
- ``check_ins``: the week's check-ins and the missing ones;
- ``announce``: the worker's part once a week is over.
"""
