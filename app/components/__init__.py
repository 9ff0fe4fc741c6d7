"""What the pages share: widgets that return values, layout that draws given data, the loaders that cache."""
