//! Resource ids bind as the text they are, so that queries take the typed ids as they come.

use diesel::expression::AsExpression;
use diesel::sql_types::{Nullable, Text};

use crate::model::{GroupId, TenantId, UserId};

macro_rules! binds_as_text {
    ($($id:ty),*) => {$(
        impl<'a> AsExpression<Text> for &'a $id {
            type Expression = <&'a str as AsExpression<Text>>::Expression;

            fn as_expression(self) -> Self::Expression {
                <&'a str as AsExpression<Text>>::as_expression(self.as_str())
            }
        }

        impl<'a> AsExpression<Nullable<Text>> for &'a $id {
            type Expression = <&'a str as AsExpression<Nullable<Text>>>::Expression;

            fn as_expression(self) -> Self::Expression {
                <&'a str as AsExpression<Nullable<Text>>>::as_expression(self.as_str())
            }
        }

        impl AsExpression<Text> for $id {
            type Expression = <String as AsExpression<Text>>::Expression;

            fn as_expression(self) -> Self::Expression {
                <String as AsExpression<Text>>::as_expression(self.into_string())
            }
        }

        impl AsExpression<Nullable<Text>> for $id {
            type Expression = <String as AsExpression<Nullable<Text>>>::Expression;

            fn as_expression(self) -> Self::Expression {
                <String as AsExpression<Nullable<Text>>>::as_expression(self.into_string())
            }
        }
    )*};
}

binds_as_text!(TenantId, UserId, GroupId);
