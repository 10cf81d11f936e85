"""The processes of the game (SPEC §11): the engine, the gateways, and the parent of both."""
