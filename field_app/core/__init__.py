"""Domain core: cases, parties, officers, the procedure engine, deadlines, clock. No Qt."""
