"""The site agent: runs at a site, scans inside its networks, spools to disk, pushes to the centre."""
