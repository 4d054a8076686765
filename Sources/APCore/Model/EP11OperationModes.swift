/// EP11 operation modes in bit order (zcrypt_cex4.c `ep11_op_modes`).
public enum EP11OperationModes {
    public static let names = ["FIPS2009", "BSI2009", "FIPS2011", "BSI2011", "SIGG-IMPORT", "SIGG",
                               "BSICC2017", "FIPS2021", "FIPS2024"]
}
