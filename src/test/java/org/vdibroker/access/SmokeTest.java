package org.vdibroker.access;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;

import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;
import org.vdibroker.testsupport.Tokens;

@QuarkusTest
class SmokeTest {

    @Test
    void startsAndAnswers() {
        given().auth().oauth2(Tokens.user("alice", "/engineering")).get("/api/v1/me/pools").then().statusCode(200);
        given().get("/api/v1/me/pools").then().statusCode(401).contentType("application/problem+json");
        given().auth().oauth2(Tokens.user("alice")).get("/api/v1/admin/pools").then().statusCode(403)
                .body("status", equalTo(403));
    }
}
