"""The pure side of sync: provider changes in domain terms and the planner that turns them into
mirror operations (``changes``, ``planner``)."""
