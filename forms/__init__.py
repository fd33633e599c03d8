"""Field documents and procedures as versioned data, their schema and loader. No Qt."""
