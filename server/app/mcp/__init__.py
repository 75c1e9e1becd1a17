"""The MCP door: every plugin tool as an MCP tool, served over streamable HTTP at ``/mcp``."""
