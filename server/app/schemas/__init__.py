"""Request and response shapes that several layers share: the doors (REST, MCP, CLI), the
services and the job store. Pydantic models only, importing nothing of Visor's above them,
so a client SDK can use them as they are."""
