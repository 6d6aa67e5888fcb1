"""relive where voice agents are built: drop-in Live services for Pipecat and LiveKit Agents.

`relive.integrations.pipecat` (extra `relive[pipecat]`) and `relive.integrations.livekit`
(extra `relive[livekit]`) each replace one framework's Gemini Live service with a subclass that
runs its Live session on `relive.connect`: same constructor, same frames or events in and out.
See docs/integrations.md.
"""
