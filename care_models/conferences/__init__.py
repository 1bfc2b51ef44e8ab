"""Community care conferences: when they happen, their agendas, decisions and effects."""
