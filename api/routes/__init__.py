"""One router per resource; each route names the roles that may call it."""
