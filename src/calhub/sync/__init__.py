"""The sync engine: pull changes, plan, apply, write back, save the cursor."""
