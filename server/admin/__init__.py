"""The admin side of the server (SPEC §8): the door, the HTTP API and its route table, request
and reply models, the admin socket and its figures, the listing run beside the game.
"""
