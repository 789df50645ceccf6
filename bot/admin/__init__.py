"""Admin features: review of what posbot misunderstood, content uploads, live reload, stats and reports, data copying."""
