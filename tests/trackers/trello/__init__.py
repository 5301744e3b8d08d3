"""A local Trello emulator (ASGI): the REST subset planbridge uses, for tests over loopback HTTP."""
