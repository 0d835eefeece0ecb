resource "test_instance" "test" {
    ami = "force-replace"
}
