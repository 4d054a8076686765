enum FuseServerPlaceholder {}
