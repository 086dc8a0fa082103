"""The sandbox (`dieuphoi sandbox`): the whole bot against a local Telegram that a person
uses in a web browser (issue 12). `world` is the seam between the two halves: the runtime
(local Bot API server, the bot, the demo world, the movable clock) implements
`SandboxWorld`; the web chat (routes, server push, the page) only talks to it."""
