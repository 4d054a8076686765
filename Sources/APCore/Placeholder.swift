enum APCorePlaceholder {}
