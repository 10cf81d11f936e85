"""The admin side of the game's rules (SPEC §8): commands, audit, bulk jobs, bans, interventions,
the listing's index and query. Pure like the rest of ``engine/``; ``engine/commands.py`` merges
its commands into the game's.
"""
